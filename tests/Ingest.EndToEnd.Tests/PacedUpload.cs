using System.Net;
using System.Security.Cryptography;
using Npgsql;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// A large recording-like body generated block by block (never whole in memory), hashed as it is sent, and
/// paced by the worker's progress: the next block goes only while the decoded bytes staged for this upload are
/// within <see cref="Window"/> of those sent. The mock cluster keeps ~5 MiB per partition and a payload's chunks
/// share one partition, so an unpaced 100 MiB upload would outrun the worker and lose chunks.
/// </summary>
public sealed class PacedUpload(string connectionString, long length) : HttpContent
{
    /// <summary>Decoded bytes allowed ahead of the worker: ~2.5 MiB on the topic at recording-like LZ4 ratios (~3.4).</summary>
    public const int Window = 8 * 1024 * 1024;

    private const int BlockBytes = 1024 * 1024;
    private static readonly TimeSpan StallDeadline = TimeSpan.FromSeconds(60);
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>SHA-256 of what was sent, once sent.</summary>
    public byte[] Sha256 => _sha256.GetCurrentHash();

    /// <summary>Block <paramref name="index"/> of the body: recording-like JSON, different per block.</summary>
    public static byte[] Block(long index, int size) => Payloads.Make("paced", index, size)[..size];

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        long sent = 0;
        for (var index = 0L; sent < length; index++)
        {
            await WaitForWorkerAsync(sent, cancellationToken);
            var block = Block(index, (int)Math.Min(BlockBytes, length - sent));
            _sha256.AppendData(block);
            await stream.WriteAsync(block, cancellationToken);
            sent += block.Length;
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length1)
    {
        length1 = length;
        return true;
    }

    private async Task WaitForWorkerAsync(long sent, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StallDeadline;
        while (sent - await StagedAsync(cancellationToken) > Window)
        {
            Assert.True(DateTime.UtcNow < until, $"The worker staged nothing new for {StallDeadline} at {sent} bytes sent: a chunk was lost or the worker stopped.");
            await Task.Delay(20, cancellationToken); // polling a condition with a deadline
        }
    }

    /// <summary>Decoded bytes the worker has staged for the upload in progress (the only chunked one in this database).</summary>
    private async Task<long> StagedAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce((SELECT max(length) FROM ingest.pending_uploads), 0)::bigint
                 + coalesce((SELECT sum(length) FROM ingest.payloads WHERE chunk_count > 1), 0)::bigint
            """,
            connection);
        try
        {
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0; // the worker has not migrated yet
        }
    }
}
