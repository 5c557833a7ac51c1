using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Storage.Hosting;

/// <summary>The Ingest database's connection string, from <c>ConnectionStrings:Ingest</c>.</summary>
public sealed class StoreOptions
{
    /// <summary>Configuration key of the Npgsql connection string.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Ingest";

    /// <summary>Npgsql connection string of the Ingest database; required.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>The one <see cref="NpgsqlDataSource"/> of a process (API or worker), its connection string checked at start-up.</summary>
public static class IngestDataSource
{
    /// <summary>
    /// Binds and validates <c>ConnectionStrings:Ingest</c> (start-up fails, naming it, when it is missing or not an
    /// Npgsql connection string) and registers one data source logging through the host's loggers.
    /// </summary>
    public static IHostApplicationBuilder AddIngestDataSource(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<StoreOptions>()
            .Configure(options => options.ConnectionString = builder.Configuration.GetConnectionString("Ingest"))
            .Validate(
                options => IsValid(options.ConnectionString),
                $"{StoreOptions.ConnectionStringKey} is required and must be an Npgsql connection string (the Ingest database).")
            .ValidateOnStart();
        services.TryAddSingleton(provider => new NpgsqlDataSourceBuilder(provider.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString)
            .UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>())
            .Build());
        return builder;
    }

    private static bool IsValid(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return false;
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
