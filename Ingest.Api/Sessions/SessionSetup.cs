using Ingest.Storage.Reading;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ingest.Api.Sessions;

/// <summary><c>ConnectionStrings:Ingest</c>, the store the read endpoints query.</summary>
public sealed class SessionStoreOptions
{
    public const string ConnectionStringName = "Ingest";

    /// <summary>Npgsql connection string (<c>ConnectionStrings:Ingest</c>).</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>Registers the one <see cref="NpgsqlDataSource"/> and the reader.</summary>
public static class SessionSetup
{
    public static WebApplicationBuilder AddSessionReader(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SessionStoreOptions>()
            .Configure<IConfiguration>((options, configuration) =>
                options.ConnectionString = configuration.GetConnectionString(SessionStoreOptions.ConnectionStringName))
            .Validate(options => IsValid(options.ConnectionString), "ConnectionStrings:Ingest is required and must be an Npgsql connection string.")
            .ValidateOnStart();
        builder.Services.AddSingleton(services => new NpgsqlDataSourceBuilder(
                services.GetRequiredService<IOptions<SessionStoreOptions>>().Value.ConnectionString)
            .UseLoggerFactory(services.GetRequiredService<ILoggerFactory>())
            .Build());
        builder.Services.AddSingleton<SessionReader>();
        builder.Services.AddExceptionHandler<StoreUnavailableHandler>();
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
