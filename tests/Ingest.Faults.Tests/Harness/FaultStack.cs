using Ingest.DevBroker;
using Ingest.Testing;
using Ingest.Testing.Hosting;
using Npgsql;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// One cell's pipeline: a broker, a database, the API and workers as child processes (so they can be SIGKILLed,
/// stopped gracefully and measured), with the same configuration a deployment uses plus short client-facing timeouts.
/// </summary>
public sealed class FaultStack : IAsyncDisposable
{
    public const int Partitions = 4;

    private readonly List<WorkerProcess> _workers = [];
    private readonly List<WorkerProcess> _retired = [];
    private readonly PrivatePostgres? _postgres;
    private readonly StackNeeds _needs;

    private FaultStack(StackBroker broker, PrivatePostgres? postgres, string connectionString, StackNeeds needs)
    {
        Broker = broker;
        _postgres = postgres;
        ConnectionString = connectionString;
        _needs = needs;
        // No window: the clients are held back by the API's backlog guard (503 backlog-full), as in production; the
        // harness only checks that the broker never dropped anything the workers had not committed.
        Backlog = new PartitionBacklog(BootstrapServers, Topic, GroupId, Partitions, windowBytes: null);
    }

    /// <summary>Bytes accepted but not yet committed by the workers, per partition, and the watch on the log's start.</summary>
    public PartitionBacklog Backlog { get; }

    /// <summary>Where the stack's topic lives, and the mock cluster or real nodes a fault acts on.</summary>
    public StackBroker Broker { get; }

    /// <summary>The cell's own mock cluster (fault injection), or null.</summary>
    public MockCluster? Mock => Broker.Mock;

    public string BootstrapServers => Broker.BootstrapServers;

    public string Topic => Broker.Topic;

    public string GroupId { get; } = $"faults-{Guid.NewGuid():N}";

    /// <summary>The database the workers store into.</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// The same database for the harness's own connections: without pooling (they must not outlive a restart) and
    /// without a statement timeout — the statement-timeout fault sets 100 ms on the database, which a harness connection
    /// would inherit: a soak on a busy machine failed when its pg_terminate_backend took longer (57014).
    /// </summary>
    public string UnpooledConnectionString =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Options = "-c statement_timeout=0" }.ConnectionString;

    public PrivatePostgres Postgres => _postgres ?? throw new InvalidOperationException("This cell does not own its Postgres.");

    public WorkerProcess? Api { get; private set; }

    public Uri ApiAddress => Api?.Address ?? throw new InvalidOperationException("API not started.");

    /// <summary>The live workers (a copy: faults add and remove workers while the soak samples their memory).</summary>
    public IReadOnlyList<WorkerProcess> Workers
    {
        get
        {
            lock (_workers)
            {
                return [.. _workers];
            }
        }
    }

    /// <summary>Recent output of the API and every worker, for failure messages.</summary>
    public string Output => string.Join("\n---\n", new[] { Api }.Concat(_retired).Concat(_workers).OfType<WorkerProcess>().Select(p => p.Output));

    public static async Task<FaultStack> CreateAsync(KafkaFixture kafka, RealCluster? real, PostgresFixture postgres, StackNeeds needs, CancellationToken ct)
    {
        var broker = await StackBroker.CreateAsync(needs.Broker, Partitions, kafka, real, ct);
        PrivatePostgres? own = null;
        string database;
        if (needs.OwnPostgres)
        {
            own = await PrivatePostgres.StartAsync(ct);
            database = await own.CreateDatabaseAsync("ingest", ct);
        }
        else
        {
            database = await postgres.CreateDatabaseAsync(ct);
        }

        var stack = new FaultStack(broker, own, database, needs);
        try
        {
            for (var i = 0; i < needs.Workers; i++)
            {
                await stack.StartWorkerAsync(ct);
            }

            await stack.StartApiAsync(ct);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the API, on the port it had before when it is a restart.</summary>
    public async Task StartApiAsync(CancellationToken ct)
    {
        var previous = Api;
        if (previous is not null)
        {
            _retired.Add(previous);
        }

        Api = await WorkerProcess.StartApiAsync(previous?.Address, [
            .. Common(),
            .. TestApiKeys.ConfigurationArgs(),
            $"--Api:WorkerGroupId={GroupId}",
            // Client-facing timeouts short enough for a 30 s cell; a recording client honours Retry-After.
            "--Api:DeliveryTimeout=00:00:05",
            "--Api:BudgetWaitTimeout=00:00:05",
            "--Api:ShutdownTimeout=00:00:05",
            "--Api:RetryAfterSeconds=1",
            .. _needs.ApiArgs ?? [],
        ], ct);
    }

    public async Task<WorkerProcess> StartWorkerAsync(CancellationToken ct)
    {
        var worker = await WorkerProcess.StartAsync([
            .. Common(),
            $"--Worker:GroupId={GroupId}",
            $"--Kafka:group.protocol={Broker.GroupProtocol}",
            "--Worker:CommitInterval=00:00:00.200",
        ], ct);
        lock (_workers)
        {
            _workers.Add(worker);
        }

        return worker;
    }

    /// <summary>SIGKILL: no drain, no commit, no LeaveGroup.</summary>
    public async Task KillWorkerAsync(WorkerProcess worker)
    {
        await worker.KillAsync();
        Retire(worker);
    }

    /// <summary>SIGTERM: the worker drains, commits and leaves; fails when it does not exit cleanly.</summary>
    public async Task StopWorkerAsync(WorkerProcess worker)
    {
        var exit = await worker.TerminateAsync(TimeSpan.FromSeconds(60));
        Retire(worker);
        Assert.True(exit == 0, $"worker exited with {exit}:\n{worker.Output}");
    }

    /// <summary>SIGKILL of the API (requests in flight get no answer), then a new API on the same port.</summary>
    public async Task KillAndRestartApiAsync(CancellationToken ct)
    {
        await Api!.KillAsync();
        await StartApiAsync(ct);
    }

    /// <summary>Uploads staged in <c>ingest.pending_uploads</c> without their last chunk yet (mid-reassembly).</summary>
    public async Task<long> PendingUploadsAsync(CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(UnpooledConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM ingest.pending_uploads WHERE NOT dead_lettered", connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>API and worker resident set sizes now, in bytes.</summary>
    public (long Api, long Workers) Rss() => (Api?.RssBytes() ?? 0, Workers.Sum(w => w.RssBytes()));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { Api }.Concat(_workers).Concat(_retired).OfType<WorkerProcess>())
        {
            await process.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        Backlog.Dispose();
        await Broker.DisposeAsync();
    }

    private void Retire(WorkerProcess worker)
    {
        lock (_workers)
        {
            _workers.Remove(worker);
            _retired.Add(worker);
        }
    }

    private IEnumerable<string> Common()
    {
        yield return $"--Kafka:BootstrapServers={BootstrapServers}";
        foreach (var (key, value) in Broker.ClientSettings)
        {
            yield return $"--Kafka:{key}={value}";
        }

        yield return $"--ConnectionStrings:Ingest={ConnectionString}";
        yield return $"--Ingest:Topic={Topic}";
        yield return "--Logging:LogLevel:Default=Warning";
        yield return "--Logging:LogLevel:Ingest=Information";
    }
}
