using Ingest.Storage.Batches;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Worker.Storage;

/// <summary>The connection string, from <c>ConnectionStrings:Ingest</c>.</summary>
public sealed class StoreOptions
{
    /// <summary>Configuration key of the Npgsql connection string.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Ingest";

    /// <summary>Npgsql connection string of the Ingest database; required.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>Wires the Postgres data source and the payload store.</summary>
public static class StorageSetup
{
    /// <summary>Adds one <see cref="NpgsqlDataSource"/> for the process and the <see cref="PayloadStore"/>.</summary>
    public static IHostApplicationBuilder AddPayloadStore(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<StoreOptions>()
            .Configure(options => options.ConnectionString = builder.Configuration.GetConnectionString("Ingest"))
            .Validate(
                options => !string.IsNullOrWhiteSpace(options.ConnectionString),
                $"{StoreOptions.ConnectionStringKey} is required: the Npgsql connection string of the Ingest database.")
            .ValidateOnStart();
        services.AddSingleton(provider => new NpgsqlDataSourceBuilder(provider.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString)
            .UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>())
            .Build());
        services.AddSingleton<PayloadStore>();
        return builder;
    }
}
