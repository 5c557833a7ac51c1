using Ingest.Storage.Hosting;
using Ingest.Storage.Lifecycle;
using Ingest.Storage.Reading;

namespace Ingest.Api.Sessions;

/// <summary>Registers the store the read endpoints query (<c>ConnectionStrings:Ingest</c>) and the reader.</summary>
public static class SessionSetup
{
    public static WebApplicationBuilder AddSessionReader(this WebApplicationBuilder builder)
    {
        builder.AddIngestDataSource();
        builder.AddRetentionPolicy(); // reads hide what is past its project's retention
        builder.Services.AddSingleton<SessionReader>();
        builder.Services.AddExceptionHandler<StoreUnavailableHandler>();
        return builder;
    }
}
