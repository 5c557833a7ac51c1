namespace Ingest.Api.Tests.Hosting;

/// <summary>Waiting on a condition with a deadline (never a bare delay as synchronisation).</summary>
public static class Until
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan deadline, string what, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, $"Not within {deadline}: {what}.");
            await Task.Delay(20, cancellationToken); // polling a condition with a deadline
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan deadline, string what, CancellationToken cancellationToken) =>
        TrueAsync(() => Task.FromResult(condition()), deadline, what, cancellationToken);
}
