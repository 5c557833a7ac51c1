using System.Net.Sockets;
using System.Text;

namespace Ingest.Api.Tests.Hosting;

/// <summary>HTTP/1.1 by hand, for what HttpClient will not send: a body shorter than its Content-Length, a client vanishing mid-body.</summary>
public sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _tcp = new() { NoDelay = true };
    private NetworkStream? _stream;

    public static async Task<RawHttp> ConnectAsync(Uri address, CancellationToken cancellationToken)
    {
        var raw = new RawHttp();
        await raw._tcp.ConnectAsync(address.Host, address.Port, cancellationToken);
        raw._stream = raw._tcp.GetStream();
        return raw;
    }

    /// <summary>The head of a payload POST with <paramref name="contentLength"/> and the ingest+read key.</summary>
    public static byte[] PostHead(string sessionId, long seq, long contentLength, string key = ApiHost.IngestReadKey) =>
        Encoding.ASCII.GetBytes(
            $"POST /v1/sessions/{sessionId}/payloads?seq={seq} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n" +
            $"Content-Type: application/octet-stream\r\nContent-Length: {contentLength}\r\n\r\n");

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        await _stream!.WriteAsync(bytes, cancellationToken);

    /// <summary>Half-closes: the server sees the end of the request body.</summary>
    public void EndWrites() => _tcp.Client.Shutdown(SocketShutdown.Send);

    /// <summary>Resets the connection, as a client whose process died or whose network dropped.</summary>
    public void Reset()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Close();
    }

    /// <summary>The status of the response, or null when the server closed or reset the connection without answering.</summary>
    public async Task<int?> ReadStatusAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        int read;
        try
        {
            while (!text.ToString().Contains("\r\n", StringComparison.Ordinal)
                && (read = await _stream!.ReadAsync(buffer, cancellationToken)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (IOException) when (text.Length == 0)
        {
            return null; // the server reset the connection without answering
        }

        var line = text.ToString();
        return line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(line.AsSpan(9, 3), provider: null) : null;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
