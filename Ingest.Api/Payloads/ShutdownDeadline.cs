using Microsoft.Extensions.Options;

namespace Ingest.Api.Payloads;

/// <summary>
/// Fires <c>Api:ShutdownTimeout</c> after the host starts stopping: uploads still running then are cut short
/// (503, never stored), so Kestrel's drain ends in time and the producer's flush still fits in the
/// orchestrator's grace period.
/// </summary>
public sealed class ShutdownDeadline : IDisposable
{
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenRegistration _registration;

    public ShutdownDeadline(IHostApplicationLifetime lifetime, IOptions<ApiOptions> api, TimeProvider time)
    {
        _deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _registration = lifetime.ApplicationStopping.Register(() =>
        {
            try
            {
                _deadline.CancelAfter(api.Value.ShutdownTimeout);
            }
            catch (ObjectDisposedException)
            {
                // Disposed with the container: nothing left to cut short.
            }
        });
    }

    /// <summary>Cancelled once the shutdown deadline has passed.</summary>
    public CancellationToken Token => _deadline.Token;

    public void Dispose()
    {
        _registration.Dispose();
        _deadline.Dispose();
    }
}
