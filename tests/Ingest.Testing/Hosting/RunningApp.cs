using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Testing.Hosting;

/// <summary>An API or worker started in-process on a real Kestrel port, as its Program builds it (several per process).</summary>
public sealed class RunningApp : IAsyncDisposable
{
    private bool _stopped;

    private RunningApp(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public static async Task<RunningApp> StartAsync(
        Func<string[], WebApplication> build, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var app = build(["--urls=http://127.0.0.1:0", .. args]);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
            .Addresses.First();
        return new RunningApp(app, new Uri(address));
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
