using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Hosting.Kafka;

/// <summary>
/// librdkafka's errors, logs and statistics, for every Kafka client of the process, moved off the client's threads
/// through a bounded channel (Aspire's pattern) and written to the log by a background task: a slow log sink never
/// blocks the poll thread (which also serves the producer's delivery reports, so a 202), and under a flood the oldest
/// events are dropped rather than memory growing.
/// </summary>
public sealed class KafkaClientLog : BackgroundService
{
    private readonly Channel<Event> _events = Channel.CreateBounded<Event>(new BoundedChannelOptions(1024)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    private readonly ILogger<KafkaClientLog> _logger;

    public KafkaClientLog(ILogger<KafkaClientLog> logger) => _logger = logger;

    /// <summary>From a client's error handler.</summary>
    public void Error(string client, Error error) =>
        _events.Writer.TryWrite(new Event(
            EventKind.Error, error.IsFatal ? LogLevel.Critical : LogLevel.Warning, client, error.Code.ToString(), error.Reason));

    /// <summary>From a client's log handler.</summary>
    public void Log(LogMessage message) =>
        _events.Writer.TryWrite(new Event(EventKind.Log, ToLogLevel(message.Level), message.Name, message.Facility, message.Message));

    /// <summary>From a client's statistics handler (only when <c>Kafka:statistics.interval.ms</c> is set).</summary>
    public void Statistics(string client, string json) =>
        _events.Writer.TryWrite(new Event(EventKind.Statistics, LogLevel.Debug, client, "STATS", json));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var e in _events.Reader.ReadAllAsync(stoppingToken))
            {
                Write(e);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: write what is already queued (the consumer has closed by now; it stops first).
            while (_events.Reader.TryRead(out var e))
            {
                Write(e);
            }
        }
    }

    private void Write(Event e)
    {
        switch (e.Kind)
        {
            case EventKind.Error:
                Kafka.Log.KafkaError(_logger, e.Level, e.Client, e.Facility, e.Text);
                break;
            case EventKind.Statistics:
                Kafka.Log.KafkaStatistics(_logger, e.Client, e.Text);
                break;
            default:
                Kafka.Log.KafkaLog(_logger, e.Level, e.Client, e.Facility, e.Text);
                break;
        }
    }

    private static LogLevel ToLogLevel(SyslogLevel level) => level switch
    {
        SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
        SyslogLevel.Error => LogLevel.Error,
        SyslogLevel.Warning => LogLevel.Warning,
        SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
        _ => LogLevel.Debug,
    };

    private enum EventKind
    {
        Error,
        Log,
        Statistics,
    }

    private sealed record Event(EventKind Kind, LogLevel Level, string Client, string Facility, string Text);
}
