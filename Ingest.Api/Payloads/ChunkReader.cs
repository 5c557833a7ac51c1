using System.Buffers;
using Ingest.Api.Backpressure;
using Ingest.Api.Limits;
using Ingest.Api.Problems;

namespace Ingest.Api.Payloads;

/// <summary>
/// Decoded bytes of one chunk in a pooled buffer, with the budget they hold (in their project's account) until Kafka
/// acknowledges them. The buffer is rented when the first bytes are there, so an upload whose client sends nothing
/// holds no buffer.
/// </summary>
public sealed class Chunk(int capacity, BudgetAccount account)
{
    private byte[]? _buffer;
    private bool _returned;

    public int Capacity { get; } = capacity;

    public int Length { get; private set; }

    /// <summary>Budget taken for the bytes in this chunk.</summary>
    public long Reserved { get; private set; }

    /// <summary>The body ended (verified) within or right after this chunk.</summary>
    public bool AtEnd { get; set; }

    public ReadOnlySpan<byte> Data => Length == 0 ? [] : Buffer.AsSpan(0, Length);

    private byte[] Buffer => _returned
        ? throw new ObjectDisposedException(nameof(Chunk))
        : _buffer ??= ArrayPool<byte>.Shared.Rent(Capacity);

    /// <summary>The account the budget was taken from.</summary>
    public BudgetAccount Account => account;

    public Memory<byte> Free(int count) => Buffer.AsMemory(Length, count);

    public void Filled(int count)
    {
        Length += count;
        Reserved += count;
    }

    /// <summary>Gives the buffer back to the pool; the budget stays held until <see cref="ReleaseBudget"/>.</summary>
    public void ReturnBuffer()
    {
        _returned = true;
        if (Interlocked.Exchange(ref _buffer, null) is { } rented)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public void ReleaseBudget()
    {
        account.Release(Reserved);
        Reserved = 0;
    }

    /// <summary>For a chunk that will never be produced: buffer and budget back.</summary>
    public void Discard()
    {
        ReturnBuffer();
        ReleaseBudget();
    }
}

/// <summary>
/// Cuts a decoded body into chunks. Before every read (at most 64 KiB) it waits for the client's bytes — taking no budget
/// meanwhile, so a client that sends headers only or stops half-way holds none beyond what it sent, and is ended after
/// <c>Api:UploadIdleTimeout</c> — then takes budget from its project's account for the read. The very first read of a
/// request only takes budget that is free now (else <see cref="UploadOutcome.BudgetSpent"/> or <see cref="UploadOutcome.ShareSpent"/>). Later, when budget is short, a
/// chunk holding bytes is handed back early, shorter than full, so that it is produced and its budget comes back with
/// Kafka's acknowledgement: an upload waits for budget (up to <c>Api:BudgetWaitTimeout</c>, which slows its client down
/// through TCP) only while it holds no unproduced bytes, so uploads can never all wait on each other. Bytes read are then
/// taken from the caller's byte-rate buckets, if any (waiting while they are empty, which slows the client too).
/// Budget failures leave as <see cref="UploadFailedException"/>, like the body's own.
/// </summary>
public sealed class ChunkReader(
    PayloadBodyStream body, BudgetAccount account, UploadAdmission? admission, int chunkBytes, TimeSpan waitTimeout, long? identityLength, TimeProvider time)
{
    private const int ReadGranule = 64 * 1024;
    private readonly byte[] _probe = new byte[1];
    private bool _started;

    /// <summary>The next chunk: full, shorter when budget is short, or the last one with <see cref="Chunk.AtEnd"/> (maybe empty).</summary>
    public async Task<Chunk> ReadAsync(CancellationToken cancellationToken)
    {
        var chunk = new Chunk(chunkBytes, account);
        try
        {
            while (true)
            {
                if (chunk.Length == chunkBytes)
                {
                    // With a Content-Length we know a full chunk is the last without borrowing budget for a read-ahead.
                    if (identityLength == body.DecodedLength && await body.ReadAsync(_probe, cancellationToken) == 0)
                    {
                        chunk.AtEnd = true;
                    }

                    return chunk;
                }

                var want = Math.Min(ReadGranule, chunkBytes - chunk.Length);
                if (identityLength is { } length)
                {
                    // +1 so the read that finds the end has room; the body never holds more than Content-Length.
                    want = (int)Math.Max(1, Math.Min(want, length - body.DecodedLength + 1));
                }

                if (!_started && !account.HasRoom(want))
                {
                    throw Spent(want); // refused before waiting for its bytes
                }

                await body.WaitForDataAsync(cancellationToken);
                if (!await TakeAsync(want, canFlush: chunk.Length > 0, cancellationToken))
                {
                    return chunk; // budget is short: produce what we hold before waiting
                }

                int read;
                try
                {
                    read = await body.ReadAsync(chunk.Free(want), cancellationToken);
                }
                catch
                {
                    account.Release(want);
                    throw;
                }

                account.Release(want - read);
                chunk.Filled(read);
                if (read == 0)
                {
                    chunk.AtEnd = true;
                    return chunk;
                }

                if (admission is not null)
                {
                    await admission.ConsumeBytesAsync(read, cancellationToken);
                }
            }
        }
        catch
        {
            chunk.Discard();
            throw;
        }
    }

    /// <summary>True once <paramref name="bytes"/> are taken; false when the caller should flush first.</summary>
    private async ValueTask<bool> TakeAsync(int bytes, bool canFlush, CancellationToken cancellationToken)
    {
        if (!_started)
        {
            _started = true;
            return account.TryAcquire(bytes) ? true : throw Spent(bytes);
        }

        if (account.TryAcquire(bytes))
        {
            return true;
        }

        if (canFlush)
        {
            return false;
        }

        using var timeout = new CancellationTokenSource(waitTimeout, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await account.AcquireAsync(bytes, wait.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UploadFailedException(UploadFailure.BudgetTimeout(waitTimeout));
        }
    }

    /// <summary>No room for <paramref name="bytes"/> at the first read: in the project's share, or in the whole budget.</summary>
    private UploadFailedException Spent(int bytes) => new(
        account.IsShareShort(Math.Min(bytes, account.Cap)) ? UploadFailure.ShareSpent(account.ProjectId) : UploadFailure.BudgetSpent());
}
