using Confluent.Kafka;
using Ingest.Worker.Consuming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Worker.Tests;

/// <summary>A worker started in-process as its Program builds it, on a real Kestrel port.</summary>
public sealed class RunningWorker : IAsyncDisposable
{
    private bool _stopped;

    private RunningWorker(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>Partitions the worker's consumer owns right now.</summary>
    public IReadOnlyList<TopicPartition> Assignment => App.Services.GetRequiredService<PayloadConsumer>().Assignment;

    public static async Task<RunningWorker> StartAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var app = Program.Build(["--urls=http://127.0.0.1:0", .. args]);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new RunningWorker(app, new Uri(address));
    }

    /// <summary>Graceful stop: what the host does on SIGTERM.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await App.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await App.DisposeAsync();
    }
}
