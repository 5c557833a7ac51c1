using System.Globalization;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Consuming;

/// <summary>Validates <see cref="WorkerOptions"/>; every message names the configuration key.</summary>
public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.GroupId))
        {
            failures.Add("Worker:GroupId must not be empty.");
        }

        Range(failures, "MaxBatchMessages", options.MaxBatchMessages, 1, 100_000);
        Range(failures, "MaxBatchBytes", options.MaxBatchBytes, 1024, 1024 * 1024 * 1024);
        Range(failures, "LaneCapacity", options.LaneCapacity, 1, 1_000_000);
        Range(failures, "MaxConcurrentTransactions", options.MaxConcurrentTransactions, 1, 256);
        Range(failures, "MaxTransactionMessages", options.MaxTransactionMessages, 1, 1_000_000);
        Range(failures, "MaxTransactionBytes", options.MaxTransactionBytes, 1024, 1024 * 1024 * 1024);
        Range(failures, "PoisonAttempts", options.PoisonAttempts, 1, 100);
        Range(failures, "LaneCapacityBytes", options.LaneCapacityBytes, 1024, 1024 * 1024 * 1024);
        Positive(failures, "CommitInterval", options.CommitInterval);
        Positive(failures, "RevokeDrainTimeout", options.RevokeDrainTimeout);
        Positive(failures, "ShutdownDrainTimeout", options.ShutdownDrainTimeout);
        if (options.AbandonedUploadAfter < TimeSpan.FromSeconds(1) || options.AbandonedUploadAfter > TimeSpan.FromDays(7))
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture, $"Worker:AbandonedUploadAfter must be between 00:00:01 and 7.00:00:00 (got {options.AbandonedUploadAfter:c})."));
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Range(List<string> failures, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture, $"Worker:{key} must be between {min} and {max} (got {value})."));
        }
    }

    private static void Positive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value > TimeSpan.FromHours(1))
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture, $"Worker:{key} must be more than 0 and at most 01:00:00 (got {value:c})."));
        }
    }
}
