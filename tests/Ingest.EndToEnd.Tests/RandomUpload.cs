using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// An incompressible <c>application/octet-stream</c> body of a given length, generated block by block
/// (never whole in memory), sent as fast as the API reads it — no pacing on the client's side — and hashed as sent.
/// Incompressible bytes are the worst case for a broker that keeps little: LZ4 leaves them their full size.
/// </summary>
public sealed class RandomUpload : HttpContent
{
    private const int BlockBytes = 1024 * 1024;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly long _length;
    private readonly int _seed;

    public RandomUpload(long length, int seed)
    {
        _length = length;
        _seed = seed;
        Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
    }

    /// <summary>SHA-256 of what was sent, once sent.</summary>
    public byte[] Sha256 => _sha256.GetCurrentHash();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var random = new Random(_seed);
        var block = new byte[BlockBytes];
        for (long sent = 0; sent < _length;)
        {
            var size = (int)Math.Min(BlockBytes, _length - sent);
            random.NextBytes(block.AsSpan(0, size));
            _sha256.AppendData(block, 0, size);
            await stream.WriteAsync(block.AsMemory(0, size), cancellationToken);
            sent += size;
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}
