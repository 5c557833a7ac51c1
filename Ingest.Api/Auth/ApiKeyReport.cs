namespace Ingest.Api.Auth;

/// <summary>
/// Says at start-up how many API keys and projects are configured, and warns when there are none: such an API starts
/// and looks healthy, yet refuses every ingest and read with 401.
/// </summary>
public sealed class ApiKeyReport(ApiKeyRegistry registry, ILogger<ApiKeyRegistry> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Log.KeysLoaded(logger, registry.Count, registry.ProjectCount);
        if (registry.Count == 0)
        {
            Log.NoKeys(logger);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
