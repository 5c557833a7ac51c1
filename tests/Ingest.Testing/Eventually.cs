using Xunit;

namespace Ingest.Testing;

/// <summary>Waiting on a condition with a deadline (never a bare delay as synchronisation).</summary>
public static class Eventually
{
    public static async Task<T> UntilAsync<T>(
        Func<Task<T>> probe, Func<T, bool> done, TimeSpan deadline, Func<T, string> failure, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < until, $"{failure(value)} (after {deadline.TotalSeconds:0} s)");
            await Task.Delay(50, cancellationToken); // polling a condition with a deadline
        }
    }

    public static Task<T> UntilAsync<T>(Func<T> probe, Func<T, bool> done, TimeSpan deadline, Func<T, string> failure, CancellationToken cancellationToken) =>
        UntilAsync(() => Task.FromResult(probe()), done, deadline, failure, cancellationToken);
}
