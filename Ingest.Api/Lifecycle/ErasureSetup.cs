using Ingest.Storage.Hosting;
using Ingest.Storage.Lifecycle;
using Npgsql;

namespace Ingest.Api.Lifecycle;

/// <summary>Session erasure: the store's <see cref="SessionErasures"/>, the in-memory <see cref="ErasedSessions"/> and its listener.</summary>
public static class ErasureSetup
{
    /// <summary>Needs the <see cref="RetentionPolicy"/> (<c>AddRetentionPolicy</c>): an erasure's tombstone stays for the project's retention.</summary>
    public static WebApplicationBuilder AddSessionErasure(this WebApplicationBuilder builder)
    {
        if (!builder.Services.Any(service => service.ServiceType == typeof(NpgsqlDataSource)))
        {
            builder.AddIngestDataSource();
        }

        builder.Services.AddSingleton<SessionErasures>();
        builder.Services.AddSingleton<ErasedSessions>();
        builder.Services.AddHostedService<ErasureListener>();
        return builder;
    }
}
