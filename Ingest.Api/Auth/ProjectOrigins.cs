namespace Ingest.Api.Auth;

/// <summary>Browser origins as compared for CORS: <c>scheme://host[:port]</c>, lower case, default port omitted.</summary>
public static class ProjectOrigins
{
    /// <summary>The canonical form of <paramref name="origin"/>, or null when it is not an http(s) origin.</summary>
    public static string? Normalize(string? origin)
    {
        if (!Uri.TryCreate(origin?.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/"
            || uri.Query.Length != 0
            || uri.Fragment.Length != 0
            || uri.UserInfo.Length != 0)
        {
            return null;
        }

        // Uri lower-cases scheme and host and drops a default port.
        return uri.GetLeftPart(UriPartial.Authority);
    }
}
