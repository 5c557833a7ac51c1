using Polly;
using Polly.Retry;

namespace Ingest.Storage.Resilience;

/// <summary>
/// The worker's one retry policy: what it retries must eventually succeed before an offset may be
/// committed (a database write, a migration, a dead letter), so it retries until cancelled, with
/// exponential back-off and jitter capped at <c>maxDelay</c>.
/// </summary>
public static class RetryUntilCancelled
{
    public static ResiliencePipeline Create(
        TimeProvider timeProvider,
        PredicateBuilder<object> shouldHandle,
        TimeSpan delay,
        TimeSpan maxDelay,
        Func<OnRetryArguments<object>, ValueTask> onRetry) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = shouldHandle,
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = delay,
                MaxDelay = maxDelay,
                OnRetry = onRetry,
            })
            .Build();
}
