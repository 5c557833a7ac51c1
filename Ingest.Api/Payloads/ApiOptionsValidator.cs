using Ingest.Contracts.Chunking;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>Start-up validation of <see cref="ApiOptions"/>; each message names the key.</summary>
public sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    /// <summary>Upper bound for <see cref="ApiOptions.MaxPayloadBytes"/>: 16 GiB, far above any sane payload.</summary>
    public const long MaxPayloadBytesCeiling = 16L * 1024 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = new List<string>();
        if (options.MaxPayloadBytes is < 1 or > MaxPayloadBytesCeiling)
        {
            failures.Add($"{ApiOptions.Section}:MaxPayloadBytes must be between 1 and {MaxPayloadBytesCeiling}; got {options.MaxPayloadBytes}.");
        }

        // librdkafka takes message.timeout.ms as a 32-bit integer; 0 would mean "never time out".
        if (options.DeliveryTimeout < TimeSpan.FromMilliseconds(1) || options.DeliveryTimeout.TotalMilliseconds > int.MaxValue)
        {
            failures.Add($"{ApiOptions.Section}:DeliveryTimeout must be between 1 ms and {int.MaxValue} ms; got {options.DeliveryTimeout}.");
        }

        if (options.RetryAfterSeconds is < 1 or > 3600)
        {
            failures.Add($"{ApiOptions.Section}:RetryAfterSeconds must be between 1 and 3600; got {options.RetryAfterSeconds}.");
        }

        if (options.ChunkBytes is < 1 or > PayloadChunking.MaxChunkBytes)
        {
            failures.Add($"{ApiOptions.Section}:ChunkBytes must be between 1 and {PayloadChunking.MaxChunkBytes}; got {options.ChunkBytes}.");
        }

        if (options.ChunksInFlight is < 1 or > 64)
        {
            failures.Add($"{ApiOptions.Section}:ChunksInFlight must be between 1 and 64; got {options.ChunksInFlight}.");
        }

        // An upload holds up to ChunksInFlight + 2 chunks; the budget must let at least one through.
        var minimumBudget = (long)Math.Max(options.ChunkBytes, 1) * (Math.Max(options.ChunksInFlight, 1) + 2);
        if (options.InFlightBudgetBytes < minimumBudget || options.InFlightBudgetBytes > MaxPayloadBytesCeiling)
        {
            failures.Add(
                $"{ApiOptions.Section}:InFlightBudgetBytes must be between {minimumBudget} (ChunkBytes × (ChunksInFlight + 2)) " +
                $"and {MaxPayloadBytesCeiling}; got {options.InFlightBudgetBytes}.");
        }

        if (options.BudgetWaitTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{ApiOptions.Section}:BudgetWaitTimeout must be positive; got {options.BudgetWaitTimeout}.");
        }

        if (options.ShutdownTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{ApiOptions.Section}:ShutdownTimeout must be positive; got {options.ShutdownTimeout}.");
        }

        if (!(options.BacklogShare > 0 && options.BacklogShare <= 1))
        {
            failures.Add($"{ApiOptions.Section}:BacklogShare must be above 0 and at most 1; got {options.BacklogShare}.");
        }

        if (options.RetainedBytesPerPartition is < 1)
        {
            failures.Add($"{ApiOptions.Section}:RetainedBytesPerPartition must be positive when set; got {options.RetainedBytesPerPartition}.");
        }

        if (options.BacklogAdmitTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{ApiOptions.Section}:BacklogAdmitTimeout must be positive; got {options.BacklogAdmitTimeout}.");
        }

        if (options.BacklogWaitTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{ApiOptions.Section}:BacklogWaitTimeout must be positive; got {options.BacklogWaitTimeout}.");
        }

        if (options.BacklogRefreshInterval < TimeSpan.FromMilliseconds(10) || options.BacklogRefreshInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{ApiOptions.Section}:BacklogRefreshInterval must be between 10 ms and 1 minute; got {options.BacklogRefreshInterval}.");
        }

        if (string.IsNullOrWhiteSpace(options.WorkerGroupId))
        {
            failures.Add($"{ApiOptions.Section}:WorkerGroupId must not be empty.");
        }

        if (options.UploadIdleTimeout < TimeSpan.FromMilliseconds(100) || options.UploadIdleTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{ApiOptions.Section}:UploadIdleTimeout must be between 100 ms and 1 hour; got {options.UploadIdleTimeout}.");
        }

        if (options.ErasureRefreshInterval < TimeSpan.FromSeconds(1) || options.ErasureRefreshInterval > TimeSpan.FromHours(1))
        {
            failures.Add($"{ApiOptions.Section}:ErasureRefreshInterval must be between 1 s and 1 hour; got {options.ErasureRefreshInterval}.");
        }

        options.ProjectLimits.Validate($"{ApiOptions.Section}:ProjectLimits", isKey: false, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
