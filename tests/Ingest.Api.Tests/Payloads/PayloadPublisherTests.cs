using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using Ingest.Api.Auth;
using Ingest.Api.Backpressure;
using Ingest.Api.Kafka;
using Ingest.Api.Lifecycle;
using Ingest.Api.Payloads;
using Ingest.Api.Problems;
using Ingest.Api.Telemetry;
using Ingest.Api.Tests.Hosting;
using Ingest.Contracts.Envelope;
using Ingest.Hosting.Kafka;
using Ingest.Testing;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Api.Tests.Payloads;

/// <summary>
/// <see cref="PayloadPublisher"/> built by hand against the test broker, its body fed through a pipe and its clock fake:
/// what the body reader decides is what the publisher returns, an upload given up part-way is followed by its abort
/// marker, and every byte of budget comes back. In the alone collection because meters are process-wide.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class PayloadPublisherTests(KafkaFixture kafka)
{
    private const int ChunkBytes = 1024;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_whole_body_is_delivered_in_chunks_with_its_budget_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = await Upload.StartAsync(kafka, "api-publisher-delivered", ct);
        await upload.SendAsync(2500, ct);
        await upload.Pipe.Writer.CompleteAsync();

        var delivered = Assert.IsType<PublishResult.Delivered>(await upload.Published.WaitAsync(TimeSpan.FromSeconds(60), ct));

        Assert.Equal((2500L, 3), (delivered.Bytes, delivered.Chunks));
        await Eventually.TrueAsync(() => upload.Budget.InFlight == 0, TimeSpan.FromSeconds(30), "budget back", ct);
        var envelopes = TopicReader.ReadAll(kafka, upload.Topic).Select(m => PayloadEnvelope.ReadFrom(m.Message.Headers)).ToList();
        Assert.Equal([false, false, true], envelopes.Select(e => e.IsLastChunk));
    }

    [Fact]
    public async Task A_client_gone_silent_after_its_first_chunks_ends_as_upload_idle_and_its_abort_marker_follows()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = await Upload.StartAsync(kafka, "api-publisher-idle", ct);
        await upload.SendAsync(3 * ChunkBytes + 10, ct);
        await Eventually.TrueAsync(() => TopicReader.ReadAll(kafka, upload.Topic).Count >= 3, TimeSpan.FromSeconds(30), "first chunks produced", ct);

        // The reader parks for more bytes right after it read the last ones; the fake clock moves until it gives up.
        await Eventually.TrueAsync(
            () =>
            {
                upload.Time.Advance(IdleTimeout);
                return upload.Published.IsCompleted;
            },
            TimeSpan.FromSeconds(30),
            "upload given up",
            ct);

        var failure = Assert.IsType<UploadFailure>(await upload.Published);
        Assert.Equal(UploadOutcome.UploadIdle, failure.Outcome);
        await AssertAbortedAsync(upload, producedChunks: 3, ct);
    }

    [Fact]
    public async Task A_body_cut_after_its_first_chunks_ends_as_client_disconnected_and_its_abort_marker_follows()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upload = await Upload.StartAsync(kafka, "api-publisher-cut", ct);
        await upload.SendAsync(2 * ChunkBytes + 10, ct);
        await Eventually.TrueAsync(() => TopicReader.ReadAll(kafka, upload.Topic).Count >= 2, TimeSpan.FromSeconds(30), "first chunks produced", ct);

        await upload.Pipe.Writer.CompleteAsync(new ConnectionResetException("The client reset the connection."));

        var failure = Assert.IsType<UploadFailure>(await upload.Published.WaitAsync(TimeSpan.FromSeconds(60), ct));
        Assert.Equal(UploadOutcome.ClientDisconnected, failure.Outcome);
        await AssertAbortedAsync(upload, producedChunks: 2, ct);
    }

    /// <summary>The upload's chunks, none of them last, then its abort marker; all its budget back.</summary>
    private async Task AssertAbortedAsync(Upload upload, int producedChunks, CancellationToken ct)
    {
        List<PayloadEnvelope> envelopes = [];
        await Eventually.TrueAsync(
            () => (envelopes = [.. TopicReader.ReadAll(kafka, upload.Topic).Select(m => PayloadEnvelope.ReadFrom(m.Message.Headers))]).Any(e => e.IsAbort),
            TimeSpan.FromSeconds(30),
            "abort marker produced",
            ct);
        Assert.Equal([.. Enumerable.Repeat(false, producedChunks), true], envelopes.Select(e => e.IsAbort));
        Assert.DoesNotContain(envelopes, e => e.IsLastChunk);
        await Eventually.TrueAsync(() => upload.Budget.InFlight == 0, TimeSpan.FromSeconds(30), "budget back", ct);
    }

    /// <summary>A publisher of its own (producer, budget, metrics) on a fake clock, publishing a body the test feeds.</summary>
    private sealed class Upload : IAsyncDisposable
    {
        private readonly ServiceProvider _services;
        private readonly PayloadProducer _producer;
        private readonly PayloadBodyStream _body;

        private Upload(KafkaFixture kafka, string topic)
        {
            Topic = topic;
            var settings = new KafkaSettings();
            settings.Client["bootstrap.servers"] = kafka.BootstrapServers;

            var api = Options.Create(new ApiOptions { ChunkBytes = ChunkBytes, UploadIdleTimeout = IdleTimeout });
            var ingest = Options.Create(new IngestOptions { Topic = topic });
            _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            _producer = new PayloadProducer(
                Options.Create(settings), api, new KafkaClientLog(NullLogger<KafkaClientLog>.Instance), NullLogger<PayloadProducer>.Instance);
            Budget = new InFlightBudget(api, ingest);
            var backlog = new BacklogGuard(Time);
            var metrics = new ApiMetrics(_services.GetRequiredService<IMeterFactory>(), Budget, backlog, new ErasedSessions(Time));
            var abort = new UploadAbort(_producer, metrics, NullLogger<UploadAbort>.Instance);
            Publisher = new PayloadPublisher(_producer, Budget, backlog, abort, ingest, api, Time, metrics, NullLogger<PayloadPublisher>.Instance);
            _body = PayloadBodyStream.Open(Pipe.Reader, ContentCoding.Identity, api.Value.MaxPayloadBytes, IdleTimeout, Time);
        }

        public string Topic { get; }

        public Pipe Pipe { get; } = new();

        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

        public InFlightBudget Budget { get; }

        public PayloadPublisher Publisher { get; }

        public Task<PublishResult> Published { get; private set; } = null!;

        public static async Task<Upload> StartAsync(KafkaFixture kafka, string prefix, CancellationToken cancellationToken)
        {
            var upload = new Upload(kafka, await kafka.CreateTopicAsync(prefix, 1, cancellationToken));
            upload.Published = upload.Publisher.PublishAsync(
                new PayloadTarget("p", $"s{Guid.NewGuid():N}", 0, "application/octet-stream"), upload._body, contentLength: null, admission: null, cancellationToken);
            return upload;
        }

        public async Task SendAsync(int bytes, CancellationToken cancellationToken) =>
            await Pipe.Writer.WriteAsync(Enumerable.Range(0, bytes).Select(i => (byte)(i * 31)).ToArray(), cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await Pipe.Writer.CompleteAsync();
            await Published.ContinueWith(_ => { }, TaskScheduler.Default);
            await _body.DisposeAsync();
            _producer.FlushAndClose(TimeSpan.FromSeconds(10));
            await _services.DisposeAsync();
        }
    }
}
