using System.Text.Encodings.Web;
using System.Text.Json;
using Confluent.Kafka;
using Ingest.Storage.Lifecycle;
using Microsoft.Extensions.Configuration;

namespace Ingest.Ops;

/// <summary>
/// What every command needs: where the broker and the store are, the topic, how to print, and the settings the API and
/// workers read (<paramref name="settings"/>; by default the environment variables, <c>Ingest__Projects__{p}__Retention</c>…).
/// </summary>
public sealed class OpsContext(string? bootstrap, string? database, string topic, bool json, TextWriter output, IConfiguration? settings = null)
{
    // Relaxed escaping: the JSON goes to a terminal or a script, never into HTML, and "+" or "'" read better unescaped.
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string Topic => topic;

    public bool Json => json;

    public TextWriter Output => output;

    public string Bootstrap => bootstrap is { Length: > 0 }
        ? bootstrap
        : throw new OpsException("no broker: pass --bootstrap host:port or set Kafka__BootstrapServers");

    public string Database => database is { Length: > 0 }
        ? database
        : throw new OpsException("no database: pass --db \"Host=…;Database=…\" or set ConnectionStrings__Ingest");

    /// <summary>The retention policy the API and workers read, from the same environment variables (<c>Ingest__Projects__{p}__Retention</c>).</summary>
    public RetentionPolicy Retention
    {
        get
        {
            try
            {
                return RetentionPolicy.FromConfiguration(Configuration);
            }
            catch (InvalidOperationException ex)
            {
                throw new OpsException(ex.Message);
            }
        }
    }

    /// <summary><c>Ingest:Lifecycle</c> from the environment (<c>Ingest__Lifecycle__*</c>).</summary>
    public LifecycleOptions Lifecycle
    {
        get
        {
            var options = new LifecycleOptions();
            try
            {
                Configuration.GetSection(LifecycleOptions.Section).Bind(options);
            }
            catch (InvalidOperationException ex)
            {
                // The binder names the key: "Failed to convert configuration value at 'Ingest:Lifecycle:CheckInterval' …".
                throw new OpsException(ex.Message);
            }

            options.DefaultRetention = Retention.Default;
            return options;
        }
    }

    private IConfiguration Configuration { get; } = settings ?? EnvironmentSettings();

    /// <summary>The store's connection string when one was given (some commands only need it for some data).</summary>
    public string? DatabaseOrNull => database is { Length: > 0 } ? database : null;

    // librdkafka's own log lines (connection refused, every 50 ms) would bury the one line this tool prints. Asking for
    // a topic by name must not create it: an admin client is a producer to librdkafka, whose metadata requests let a
    // broker with auto.create.topics.enable (Kafka's default) create a mistyped topic instead of answering "not found".
    public IAdminClient Admin() => new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Bootstrap, AllowAutoCreateTopics = false })
        .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();

    /// <summary>A consumer that never joins a group or commits: it reads by explicit assignment.</summary>
    public IConsumer<byte[], byte[]> Reader(string? groupId = null) =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = Bootstrap,
            GroupId = groupId ?? $"ingest-ops-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            FetchWaitMaxMs = 10,
        }).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();

    /// <summary>The environment variables, read as the API and workers read them (<c>__</c> separates sections).</summary>
    public static IConfiguration EnvironmentSettings() => new ConfigurationBuilder().AddEnvironmentVariables().Build();

    public void Print(object value, Action<TextWriter> text)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        }
        else
        {
            text(output);
        }
    }
}

/// <summary>A failure to report as one clear line (exit 1), not a stack trace.</summary>
public sealed class OpsException(string message) : Exception(message)
{
    public OpsException()
        : this("operation failed")
    {
    }

    public OpsException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}
