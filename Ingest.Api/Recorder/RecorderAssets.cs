using System.IO.Compression;
using System.Security.Cryptography;

namespace Ingest.Api.Recorder;

/// <summary>One file of the npm build embedded in the API, with its gzip form and a strong ETag.</summary>
public sealed record RecorderAsset(string Name, string ContentType, byte[] Bytes, byte[] Gzip, string ETag);

/// <summary>
/// The bundles built from <c>Ingest.Recorder/src</c> (<c>Ingest.Recorder/Recorder.targets</c>), read once from the
/// assembly's resources and compressed once, so every request is a memory copy.
/// </summary>
public sealed class RecorderAssets
{
    private readonly Dictionary<string, RecorderAsset> _assets;

    public RecorderAssets()
    {
        _assets = new Dictionary<string, RecorderAsset>(StringComparer.Ordinal)
        {
            ["ingest-recorder.js"] = Load("ingest-recorder.js", "text/javascript; charset=utf-8"),
            ["ingest-replay.js"] = Load("ingest-replay.js", "text/javascript; charset=utf-8"),
            ["ingest-replay.css"] = Load("ingest-replay.css", "text/css; charset=utf-8"),
            ["ingest-status.js"] = Load("ingest-status.js", "text/javascript; charset=utf-8"),
            ["ingest-status.css"] = Load("ingest-status.css", "text/css; charset=utf-8"),
        };
    }

    public RecorderAsset? Find(string name) => _assets.GetValueOrDefault(name);

    /// <summary>An embedded resource named <c>Ingest.Api.Sdk.{name}</c> (the npm build, the favicons), gzip form and ETag included.</summary>
    internal static RecorderAsset Load(string name, string contentType)
    {
        using var stream = typeof(RecorderAssets).Assembly.GetManifestResourceStream($"Ingest.Api.Sdk.{name}")
            ?? throw new InvalidOperationException($"The recorder bundle '{name}' is not embedded: Ingest.Api was built without Recorder.targets.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var bytes = buffer.ToArray();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return new RecorderAsset(name, contentType, bytes, compressed.ToArray(), $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..32]}\"");
    }
}
