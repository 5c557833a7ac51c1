using System.Net;
using Ingest.LoadGen;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The start of a payload's body, then a broken connection: what a recording client whose tab closes or whose
/// network drops mid-upload sends. Its length is announced in full, so the API sees a body that ends early.
/// </summary>
public sealed class AbandonedContent(int seed, long length) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var cut = new CutStream(stream, Math.Max(1, length / 2));
        await RecordingContent.WriteAsync(seed, length, cut, cancellationToken);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long result)
    {
        result = length;
        return true;
    }

    /// <summary>Passes <paramref name="limit"/> bytes through, flushes them, then fails the write.</summary>
    private sealed class CutStream(Stream inner, long limit) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var room = (int)Math.Min(buffer.Length, limit - _written);
            if (room > 0)
            {
                await inner.WriteAsync(buffer[..room], cancellationToken);
                _written += room;
            }

            if (room < buffer.Length)
            {
                await inner.FlushAsync(cancellationToken);
                throw new IOException("The client gave up mid-upload.");
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            // The HTTP stack owns the inner stream.
        }
    }
}
