using Ingest.Storage.Batches;
using Ingest.Storage.Hosting;
using Ingest.Storage.Lifecycle;

namespace Ingest.Worker.Storage;

/// <summary>Wires the Postgres data source, the retention policy, the partitions and the payload store.</summary>
public static class StorageSetup
{
    /// <summary>
    /// Adds the process's <see cref="Npgsql.NpgsqlDataSource"/> (<c>ConnectionStrings:Ingest</c>), the
    /// <see cref="RetentionPolicy"/> (<c>Ingest:Projects:*:Retention</c>, <c>Ingest:Lifecycle</c>), the
    /// <see cref="Partitions"/> the writer keeps ahead and the <see cref="PayloadStore"/>.
    /// </summary>
    public static IHostApplicationBuilder AddPayloadStore(this IHostApplicationBuilder builder)
    {
        builder.AddIngestDataSource();
        builder.AddRetentionPolicy();
        builder.Services.AddSingleton<Partitions>();
        builder.Services.AddSingleton<PayloadStore>();
        return builder;
    }
}
