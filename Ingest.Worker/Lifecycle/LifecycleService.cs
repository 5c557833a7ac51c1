using System.Diagnostics;
using Ingest.Storage.Lifecycle;
using Ingest.Worker.Startup;
using Microsoft.Extensions.Options;

namespace Ingest.Worker.Lifecycle;

/// <summary>
/// Runs a <see cref="Maintenance"/> pass once the schema is ready and then every <c>Ingest:Lifecycle:CheckInterval</c>
/// (one worker at a time does the work; the others find the lock taken). A failed pass (the database away, say) is logged
/// and tried again at the next interval; nothing it did is lost, and what it did not do is done by a later pass.
/// </summary>
internal sealed partial class LifecycleService(
    Maintenance maintenance,
    WorkerStartup startup,
    LifecycleTelemetry telemetry,
    IOptions<LifecycleOptions> options,
    TimeProvider timeProvider,
    ILogger<LifecycleService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await startup.Ready.WaitAsync(stoppingToken))
        {
            return; // the worker refused its topic and is stopping
        }

        using var timer = new PeriodicTimer(options.Value.CheckInterval, timeProvider);
        do
        {
            await PassAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task PassAsync(CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var report = await maintenance.RunOnceAsync(stoppingToken);
            if (!report.Ran)
            {
                return;
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            telemetry.Pass(report, elapsed);
            if (report.Expired.Payloads + report.Erased.Payloads + report.PendingUploadsRemoved + report.PartitionsCreated + report.PartitionsDropped > 0)
            {
                LogPass(logger, report.Expired.Payloads, report.Erased.Payloads, report.PendingUploadsRemoved, report.PartitionsCreated,
                    report.PartitionsDropped, elapsed.TotalMilliseconds);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            telemetry.Failed();
            LogPassFailed(logger, options.Value.CheckInterval, ex);
        }
    }

    [LoggerMessage(EventId = 2701, Level = LogLevel.Information,
        Message = "Lifecycle pass: {Expired} expired and {Erased} erased payloads removed, {Pending} unfinished uploads removed, {Created} partitions created, {Dropped} dropped in {ElapsedMs:F0} ms")]
    private static partial void LogPass(ILogger logger, long expired, long erased, long pending, int created, int dropped, double elapsedMs);

    [LoggerMessage(EventId = 2702, Level = LogLevel.Warning, Message = "Lifecycle pass failed; trying again in {Interval}")]
    private static partial void LogPassFailed(ILogger logger, TimeSpan interval, Exception exception);
}
