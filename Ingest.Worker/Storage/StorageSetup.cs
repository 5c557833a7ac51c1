using Ingest.Storage.Batches;
using Ingest.Storage.Hosting;

namespace Ingest.Worker.Storage;

/// <summary>Wires the Postgres data source and the payload store.</summary>
public static class StorageSetup
{
    /// <summary>Adds the process's <see cref="Npgsql.NpgsqlDataSource"/> (<c>ConnectionStrings:Ingest</c>) and the <see cref="PayloadStore"/>.</summary>
    public static IHostApplicationBuilder AddPayloadStore(this IHostApplicationBuilder builder)
    {
        builder.AddIngestDataSource();
        builder.Services.AddSingleton<PayloadStore>();
        return builder;
    }
}
