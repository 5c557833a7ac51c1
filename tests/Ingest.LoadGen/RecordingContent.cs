using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Text;

namespace Ingest.LoadGen;

/// <summary>
/// Recording-like JSON of an exact length, generated deterministically from a seed and streamed:
/// rrweb-style events (DOM mutations with tags, classes, ids and text from a vocabulary, mouse moves,
/// scrolls) that compress like real DOM snapshots (LZ4 ratio about 3), not zeros or random bytes.
/// </summary>
public sealed class RecordingContent(int seed, long length) : HttpContent
{
    // Where the text is written out. Where it flushes does not change the content, only the write sizes, and small enough
    // that neither the text (chars) nor the UTF-8 buffer is a large object: at 60 KiB the load generator put a 127 KB char[]
    // and a 190 KB byte[] on the large-object heap per request — at 500 requests/s, nine background gen2 collections a
    // second in the process the benchmark shares with the API and the worker, which doubled the end-to-end p99 (issue 18).
    private const int FlushAt = 16 * 1024;
    private const int EventRoom = 2048; // every event is shorter than this

    private static readonly string[] Tags = ["div", "span", "a", "button", "li", "ul", "p", "img", "input", "section", "svg", "path"];
    private static readonly string[] Classes =
        ["btn", "btn-primary", "nav-item", "card", "card-body", "row", "col-md-6", "text-muted", "active", "flex", "hidden", "modal"];
    private static readonly string[] Words =
        ["checkout", "cart", "price", "total", "account", "settings", "search", "results", "order", "shipping", "update",
         "profile", "welcome", "back", "next", "submit", "loading", "error", "retry", "details", "summary", "today"];

    /// <summary>XxHash3-64 of the bytes written by the last completed serialisation.</summary>
    public ulong Checksum { get; private set; }

    public long Length => length;

    /// <summary>Writes the whole content to <paramref name="destination"/>; returns its XxHash3-64.</summary>
    public static async Task<ulong> WriteAsync(int seed, long length, Stream destination, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var hash = new XxHash3();
        var room = (int)Math.Min(FlushAt, length) + EventRoom;
        var text = new StringBuilder(room);
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(room));
        try
        {
            return await WriteAsync(length, destination, random, hash, text, buffer, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<ulong> WriteAsync(
        long length, Stream destination, Random random, XxHash3 hash, StringBuilder text, byte[] buffer, CancellationToken cancellationToken)
    {
        var written = 0L;
        var eventId = 0;

        async Task FlushAsync()
        {
            var count = Encoding.UTF8.GetBytes(text.ToString(), buffer);
            hash.Append(buffer.AsSpan(0, count));
            await destination.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
            written += count;
            text.Clear();
        }

        text.Append('[');
        while (length - written - text.Length > EventRoom + 64)
        {
            AppendEvent(text, random, eventId++);
            text.Append(',');
            if (text.Length >= FlushAt)
            {
                await FlushAsync();
            }
        }

        // Close with one padding event of exactly the remaining length (ASCII, so chars = bytes).
        const string Head = "{\"type\":5,\"data\":{\"tag\":\"pad\",\"payload\":\"";
        const string Tail = "\"}}]";
        var remaining = length - written - text.Length;
        if (remaining >= Head.Length + Tail.Length)
        {
            text.Append(Head);
            var pad = remaining - Head.Length - Tail.Length;
            for (var i = 0L; i < pad; i++)
            {
                text.Append(i % 9 == 8 ? ' ' : Words[random.Next(Words.Length)][(int)(i % 3)]);
            }

            text.Append(Tail);
        }
        else
        {
            // Tiny payloads: a JSON string of the exact length.
            text.Clear().Append('"').Append('x', (int)Math.Max(0, length - 2)).Append('"');
        }

        await FlushAsync();
        return hash.GetCurrentHashAsUInt64();
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        Checksum = await WriteAsync(seed, length, stream, cancellationToken);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long result)
    {
        result = length;
        return true;
    }

    private static void AppendEvent(StringBuilder text, Random random, int eventId)
    {
        var timestamp = 1_700_000_000_000L + (eventId * 17L) + random.Next(10);
        switch (random.Next(4))
        {
            case 0:
                text.Append(CultureInfo.InvariantCulture,
                    $"{{\"type\":3,\"timestamp\":{timestamp},\"data\":{{\"source\":1,\"positions\":[{{\"x\":{random.Next(1920)},\"y\":{random.Next(1080)},\"id\":{random.Next(900)},\"timeOffset\":-{random.Next(500)}}}]}}}}");
                break;
            case 1:
                text.Append(CultureInfo.InvariantCulture,
                    $"{{\"type\":3,\"timestamp\":{timestamp},\"data\":{{\"source\":3,\"id\":{random.Next(900)},\"x\":0,\"y\":{random.Next(20000)}}}}}");
                break;
            default:
                var tag = Tags[random.Next(Tags.Length)];
                text.Append(CultureInfo.InvariantCulture,
                    $"{{\"type\":3,\"timestamp\":{timestamp},\"data\":{{\"source\":0,\"adds\":[{{\"parentId\":{random.Next(900)},\"nextId\":null,\"node\":{{\"type\":2,\"tagName\":\"{tag}\",\"attributes\":{{\"class\":\"{Classes[random.Next(Classes.Length)]} {Classes[random.Next(Classes.Length)]}\",\"data-testid\":\"{Words[random.Next(Words.Length)]}-{random.Next(100)}\"}},\"childNodes\":[],\"id\":{1000 + eventId}}}}}],\"texts\":[{{\"id\":{random.Next(900)},\"value\":\"{Words[random.Next(Words.Length)]} {Words[random.Next(Words.Length)]} {random.Next(1000)}\"}}],\"removes\":[],\"attributes\":[]}}}}");
                break;
        }
    }
}
