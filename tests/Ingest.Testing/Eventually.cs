using Xunit;

namespace Ingest.Testing;

/// <summary>Waiting on a condition with a deadline (never a bare delay as synchronisation).</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="probe"/> every 50 ms (probes are usually queries) until <paramref name="done"/> holds; returns the last value.</summary>
    public static Task<T> UntilAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, TimeSpan deadline, Func<T, string> failure, CancellationToken cancellationToken) =>
        PollAsync(probe, done, deadline, value => $"{failure(value)} (after {deadline.TotalSeconds:0} s)", TimeSpan.FromMilliseconds(50), cancellationToken);

    public static Task<T> UntilAsync<T>(Func<T> probe, Func<T, bool> done, TimeSpan deadline, Func<T, string> failure, CancellationToken cancellationToken) =>
        UntilAsync(() => Task.FromResult(probe()), done, deadline, failure, cancellationToken);

    /// <summary>Checks <paramref name="condition"/> every 20 ms (conditions on in-process state are cheap, and some are brief) until it holds.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan deadline, string what, CancellationToken cancellationToken) =>
        PollAsync(condition, ok => ok, deadline, _ => $"Not within {deadline}: {what}.", TimeSpan.FromMilliseconds(20), cancellationToken);

    public static Task TrueAsync(Func<bool> condition, TimeSpan deadline, string what, CancellationToken cancellationToken) =>
        TrueAsync(() => Task.FromResult(condition()), deadline, what, cancellationToken);

    private static async Task<T> PollAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, TimeSpan deadline, Func<T, string> failure, TimeSpan interval, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < until, failure(value));
            await Task.Delay(interval, cancellationToken); // polling a condition with a deadline
        }
    }
}
