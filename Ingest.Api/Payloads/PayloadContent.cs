using Microsoft.Net.Http.Headers;

namespace Ingest.Api.Payloads;

/// <summary>How the request body is encoded on the wire (<c>Content-Encoding</c>).</summary>
public enum ContentCoding
{
    Identity,
    Gzip,

    /// <summary>LZ4 frame format (lz4 command line, K4os LZ4Stream), not a raw block.</summary>
    Lz4,
}

/// <summary>Which request bodies the ingest endpoint takes (Ingest.Contracts/CONTRACT.md).</summary>
public static class PayloadContent
{
    public const string Json = "application/json";
    public const string OctetStream = "application/octet-stream";

    /// <summary>
    /// The stored media type for a <c>Content-Type</c> header: <see cref="Json"/> or <see cref="OctetStream"/>,
    /// parameters (charset) dropped, or null when the type is missing, malformed or another one.
    /// </summary>
    public static string? NegotiateMediaType(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return null;
        }

        var mediaType = parsed.MediaType;
        return mediaType.Equals(Json, StringComparison.OrdinalIgnoreCase) ? Json
            : mediaType.Equals(OctetStream, StringComparison.OrdinalIgnoreCase) ? OctetStream
            : null;
    }

    /// <summary>
    /// Parses <c>Content-Encoding</c>: absent, <c>identity</c>, <c>gzip</c> or <c>lz4</c> (case-insensitive).
    /// A list of codings (<c>gzip, lz4</c>) is refused: no client needs it and each layer is another bomb.
    /// </summary>
    public static bool TryNegotiateCoding(string? contentEncoding, out ContentCoding coding)
    {
        coding = ContentCoding.Identity;
        var value = contentEncoding?.Trim() ?? "";
        if (value.Length == 0 || value.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (value.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            coding = ContentCoding.Gzip;
            return true;
        }

        if (value.Equals("lz4", StringComparison.OrdinalIgnoreCase))
        {
            coding = ContentCoding.Lz4;
            return true;
        }

        return false;
    }
}
