using System.Globalization;
using System.IO.Hashing;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Ingest.Benchmarks;

/// <summary>
/// The edge issue's attacks (AbusiveUploadTests' mix: LZ4 frames declaring 4 MiB blocks, headers only, 255 KiB then silence,
/// LZ4 256 KiB blocks) as raw HTTP/1.1 clients from a second project's key, for the memory scenario to run beside its flood.
/// </summary>
public sealed class AttackMix
{
    /// <summary>The attackers' key, of project <c>attack</c> (scope ingest).</summary>
    public const string Key = "bench-attack-key";

    private readonly List<Task<int?>> _attackers = [];

    /// <summary>The API settings that admit <see cref="Key"/>.</summary>
    public static IEnumerable<string> ApiArguments() =>
    [
        $"--Ingest:Projects:attack:Keys:0:Sha256={Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))}",
        "--Ingest:Projects:attack:Keys:0:Scopes=ingest",
    ];

    /// <summary>Starts the attackers (AbusiveUploadTests' counts; a quarter of them in a smoke run); they hold their uploads open.</summary>
    public static AttackMix Start(Uri api, bool smoke, CancellationToken cancellationToken)
    {
        var scale = smoke ? 4 : 1;
        var mix = new AttackMix();
        for (var i = 0; i < 32 / scale; i++)
        {
            mix._attackers.Add(AttackAsync(api, $"big-{i}", Lz4Head(7, 4 << 20), 4 << 20, (4 << 20) - 1024, cancellationToken));
            mix._attackers.Add(AttackAsync(api, $"stall-{i}", null, 10 << 20, 0, cancellationToken));
        }

        for (var i = 0; i < 8 / scale; i++)
        {
            mix._attackers.Add(AttackAsync(api, $"drip-{i}", null, 10 << 20, 255 * 1024, cancellationToken));
            mix._attackers.Add(AttackAsync(api, $"block-{i}", Lz4Head(5, 256 * 1024), 256 * 1024, 255 * 1024, cancellationToken));
        }

        return mix;
    }

    /// <summary>Waits for every attacker's answer (or 40 s of silence each): "N× status" counts, "open" for no answer.</summary>
    public async Task<string> OutcomeAsync()
    {
        var statuses = await Task.WhenAll(_attackers);
        return string.Join(", ", statuses.GroupBy(s => s).OrderBy(g => g.Key ?? int.MaxValue)
            .Select(g => $"{g.Count()}× {g.Key?.ToString(CultureInfo.InvariantCulture) ?? "open"}"));
    }

    /// <summary>An LZ4 frame header (independent blocks, no checksums) declaring block size id <paramref name="blockId"/>, and an uncompressed block's size word.</summary>
    private static byte[] Lz4Head(int blockId, int blockBytes)
    {
        byte[] descriptor = [0x60, (byte)(blockId << 4)];
        var hc = (byte)(XxHash32.HashToUInt32(descriptor) >> 8);
        return [0x04, 0x22, 0x4D, 0x18, .. descriptor, hc, .. BitConverter.GetBytes(0x80000000u | (uint)blockBytes)];
    }

    /// <summary>Connects, sends the head (and LZ4 framing), <paramref name="bodyBytes"/> random bytes, then nothing; reads the status.</summary>
    private static async Task<int?> AttackAsync(
        Uri api, string session, byte[]? lz4, long contentLength, int bodyBytes, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(api.Host, api.Port, cancellationToken);
        var framing = lz4 ?? [];
        var length = lz4 is null ? contentLength : framing.Length + contentLength + 4;
        var head = Encoding.ASCII.GetBytes(
            $"POST /v1/sessions/{session}/payloads?seq=0 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {Key}\r\n" +
            $"Content-Type: application/octet-stream\r\n{(lz4 is null ? "" : "Content-Encoding: lz4\r\n")}Content-Length: {length}\r\n\r\n");
        try
        {
            await socket.SendAsync(head, cancellationToken);
            await socket.SendAsync(framing, cancellationToken);
            var body = new byte[64 * 1024];
            Random.Shared.NextBytes(body);
            for (var sent = 0; sent < bodyBytes; sent += body.Length)
            {
                await socket.SendAsync(body.AsMemory(0, Math.Min(body.Length, bodyBytes - sent)), cancellationToken);
            }
        }
        catch (SocketException)
        {
            // Refused and closed before it took everything: the answer is still there to read.
        }

        var answer = new byte[64];
        try
        {
            var read = await socket.ReceiveAsync(answer, cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(40), cancellationToken);
            var line = Encoding.ASCII.GetString(answer, 0, read); // "HTTP/1.1 408 …"
            return line.Length >= 12 && int.TryParse(line.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? status : null;
        }
        catch (Exception ex) when (ex is TimeoutException or SocketException)
        {
            return null;
        }
    }
}
