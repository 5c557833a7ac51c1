using Confluent.Kafka;
using Ingest.Testing;
using Ingest.Testing.Hosting;
using Ingest.Testing.MockKafka;
using Npgsql;

namespace Ingest.Faults.Tests.Harness;

/// <summary>
/// The matrix's faults. Each holds its fault for a few seconds: a schedule, not synchronisation (the cell then
/// waits on conditions with deadlines). Broker faults need the mock cluster's fault injection.
/// </summary>
public static class Cells
{
    private const string NeedsMock = "a real broker cannot be taken down, re-led or made to fail requests from a test (librdkafka mock cluster only)";
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(5);

    /// <summary>The broker leading partition 0 goes down for 5 s (the mock does not elect another leader: its partitions stall).</summary>
    public static Fault OneBrokerDown { get; } = new("broker-one-down", new(OwnBroker: true), async (f, ct) =>
    {
        var leader = LeaderOf(f.Stack, 0);
        Mock(f).SetBrokerDown(leader);
        await HoldAsync(Hold, ct);
        Mock(f).SetBrokerUp(leader);
    }) { MockOnlyBecause = NeedsMock };

    public static Fault AllBrokersDown { get; } = new("broker-all-down", new(OwnBroker: true), async (f, ct) =>
    {
        var mock = Mock(f);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerDown(b);
        }

        await HoldAsync(Hold, ct);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerUp(b);
        }
    }) { MockOnlyBecause = NeedsMock };

    /// <summary>Every partition's leader moves to the next broker, every second, six times.</summary>
    public static Fault LeaderMoved { get; } = new("broker-leader-moved", new(OwnBroker: true), async (f, ct) =>
    {
        var mock = Mock(f);
        for (var round = 1; round <= 6; round++)
        {
            for (var p = 0; p < FaultStack.Partitions; p++)
            {
                mock.SetPartitionLeader(f.Stack.Topic, p, ((p + round) % mock.BrokerCount) + 1);
            }

            await HoldAsync(TimeSpan.FromSeconds(1), ct);
        }
    }) { MockOnlyBecause = NeedsMock };

    /// <summary>
    /// Bursts of retriable Produce errors; the idempotent producer retries them. The API runs with one request in
    /// flight per connection here: the mock checks no sequence numbers for a non-transactional producer, so with an
    /// injected error on request R1 it still appends R2, and librdkafka, seeing R2 acknowledged, acknowledges R1's
    /// messages implicitly (rdkafka_request.c, rd_kafka_handle_idempotent_Produce_success) — right on a real broker,
    /// which refuses R2 (OUT_OF_ORDER_SEQUENCE_NUMBER) until R1 is in, but on the mock a 202 for a payload it never
    /// stored. This cell found exactly that at five in flight (one payload in ~800, "in Kafka: nowhere").
    /// </summary>
    public static Fault ProduceErrors { get; } = new("broker-produce-errors", new(OwnBroker: true, ApiArgs: ["--Kafka:max.in.flight.requests.per.connection=1"]), async (f, ct) =>
    {
        ErrorCode[] burst =
        [
            .. Enumerable.Repeat(ErrorCode.NotLeaderForPartition, 4),
            .. Enumerable.Repeat(ErrorCode.RequestTimedOut, 4),
            .. Enumerable.Repeat(ErrorCode.NotEnoughReplicas, 4),
        ];
        for (var round = 0; round < 5; round++)
        {
            Mock(f).PushRequestErrors(KafkaApiKey.Produce, burst);
            await HoldAsync(TimeSpan.FromSeconds(1), ct);
        }

        Mock(f).ClearRequestErrors(KafkaApiKey.Produce);
    }) { MockOnlyBecause = NeedsMock };

    /// <summary>Every broker answers 1.5 s late for 5 s.</summary>
    public static Fault RttSpike { get; } = new("broker-rtt-spike", new(OwnBroker: true), async (f, ct) =>
    {
        var mock = Mock(f);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerRtt(b, 1500);
        }

        await HoldAsync(Hold, ct);
        for (var b = 1; b <= mock.BrokerCount; b++)
        {
            mock.SetBrokerRtt(b, 0);
        }
    }) { MockOnlyBecause = NeedsMock };

    /// <summary>Bursts of retriable Fetch errors: the worker refetches, and whatever it reads twice must be absorbed.</summary>
    public static Fault FetchErrors { get; } = new("broker-fetch-errors", new(OwnBroker: true), async (f, ct) =>
    {
        ErrorCode[] burst =
        [
            .. Enumerable.Repeat(ErrorCode.NotLeaderForPartition, 5),
            .. Enumerable.Repeat(ErrorCode.UnknownTopicOrPart, 5),
            .. Enumerable.Repeat(ErrorCode.KafkaStorageError, 5),
        ];
        for (var round = 0; round < 5; round++)
        {
            Mock(f).PushRequestErrors(KafkaApiKey.Fetch, burst);
            await HoldAsync(TimeSpan.FromSeconds(1), ct);
        }

        Mock(f).ClearRequestErrors(KafkaApiKey.Fetch);
    }) { MockOnlyBecause = NeedsMock };

    /// <summary>Postgres stopped (fast shutdown: open transactions abort mid-batch) for 4 s, then started again.</summary>
    public static Fault DatabaseRestart { get; } = new("db-restart", new(OwnPostgres: true), async (f, ct) =>
    {
        await f.Stack.Postgres.StopAsync(ct);
        await HoldAsync(TimeSpan.FromSeconds(4), ct);
        await f.Stack.Postgres.ResumeAsync(ct);
    });

    /// <summary>Every backend of the database terminated (pg_terminate_backend) every 300 ms for 5 s.</summary>
    public static Fault ConnectionDrops { get; } = new("db-connection-drops", new(), async (f, ct) =>
    {
        var until = DateTime.UtcNow + Hold;
        while (DateTime.UtcNow < until)
        {
            await TerminateBackendsAsync(f.Stack, ct);
            await HoldAsync(TimeSpan.FromMilliseconds(300), ct);
        }
    });

    /// <summary>
    /// For 5 s every insert takes 200 ms against a 100 ms <c>statement_timeout</c> (57014). Connections are
    /// terminated when the setting changes so that new sessions pick it up.
    /// </summary>
    public static Fault StatementTimeouts { get; } = new("db-statement-timeouts", new(), async (f, ct) =>
    {
        var database = new NpgsqlConnectionStringBuilder(f.Stack.ConnectionString).Database;
        await ExecuteAsync(f.Stack,
            $"""
            CREATE OR REPLACE FUNCTION public.fault_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NEW; END $$;
            CREATE TRIGGER fault_slow_insert BEFORE INSERT ON ingest.payloads FOR EACH ROW EXECUTE FUNCTION public.fault_slow_insert();
            ALTER DATABASE "{database}" SET statement_timeout = '100ms';
            """, ct);
        await TerminateBackendsAsync(f.Stack, ct);
        await HoldAsync(Hold, ct);
        await ExecuteAsync(f.Stack,
            $"""
            DROP TRIGGER fault_slow_insert ON ingest.payloads;
            ALTER DATABASE "{database}" RESET statement_timeout;
            """, ct);
        await TerminateBackendsAsync(f.Stack, ct);
    });

    /// <summary>For 5 s every insert fails with SQLSTATE 53100 disk_full: transient, never poison.</summary>
    public static Fault DiskFull { get; } = new("db-disk-full", new(), async (f, ct) =>
    {
        await ExecuteAsync(f.Stack,
            """
            CREATE OR REPLACE FUNCTION public.fault_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
            CREATE TRIGGER fault_disk_full BEFORE INSERT ON ingest.payloads FOR EACH ROW EXECUTE FUNCTION public.fault_disk_full();
            CREATE TRIGGER fault_disk_full BEFORE INSERT ON ingest.payload_chunks FOR EACH ROW EXECUTE FUNCTION public.fault_disk_full();
            """, ct);
        await HoldAsync(Hold, ct);
        await ExecuteAsync(f.Stack,
            "DROP TRIGGER fault_disk_full ON ingest.payloads; DROP TRIGGER fault_disk_full ON ingest.payload_chunks;", ct);
    });

    /// <summary>
    /// Three times: another transaction holds an EXCLUSIVE lock on the payload tables for 2 s (writes wait, reads go
    /// on). Postgres may pick the locker as a deadlock victim (40P01) when a worker batch already holds one table
    /// and wants the other: that round is taken again.
    /// </summary>
    public static Fault LockContention { get; } = new("db-lock-contention", new(), async (f, ct) =>
    {
        for (var round = 0; round < 3;)
        {
            await using var connection = new NpgsqlConnection(f.Stack.UnpooledConnectionString);
            await connection.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            try
            {
                await using var command = new NpgsqlCommand("LOCK TABLE ingest.payloads, ingest.payload_chunks IN EXCLUSIVE MODE", connection, transaction);
                await command.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected)
            {
                continue;
            }

            await HoldAsync(TimeSpan.FromSeconds(2), ct);
            await transaction.CommitAsync(ct);
            await HoldAsync(TimeSpan.FromMilliseconds(500), ct);
            round++;
        }
    });

    /// <summary>Two workers; one is SIGKILLed under load (no drain, no commit, no leave) and a replacement starts.</summary>
    public static Fault WorkerKill { get; } = new("worker-sigkill", new(Workers: 2), async (f, ct) =>
    {
        await f.Stack.KillWorkerAsync(f.Stack.Workers[0]);
        await f.Stack.StartWorkerAsync(ct);
    });

    /// <summary>
    /// Chunk-heavy load; twice, a new worker joins, and once an upload is mid-reassembly (staged without its last
    /// chunk) the oldest worker is stopped gracefully (SIGTERM), handing its partitions and their pending uploads over.
    /// </summary>
    public static Fault GracefulStopMidReassembly { get; } = new("worker-stop-mid-reassembly", new(Workers: 1), async (f, ct) =>
    {
        for (var round = 0; round < 2; round++)
        {
            await f.Stack.StartWorkerAsync(ct);
            await Eventually.UntilAsync(() => f.Stack.PendingUploadsAsync(ct), n => n > 0, TimeSpan.FromSeconds(20), _ => "no upload mid-reassembly", ct);
            await f.Stack.StopWorkerAsync(f.Stack.Workers[0]);
        }
    })
    { Load = new LoadShape(4, TimeSpan.FromMilliseconds(150), r => r.Next(100) < 30 ? r.Next(300_000, 600_000) : r.Next(1_000, 12_000)) };

    /// <summary>One steady worker; four times another joins, stays 1.5 s and leaves (graceful), so the group rebalances every couple of seconds.</summary>
    public static Fault RebalanceStorm { get; } = new("worker-rebalance-storm", new(Workers: 1), async (f, ct) =>
    {
        for (var round = 0; round < 4; round++)
        {
            var member = await f.Stack.StartWorkerAsync(ct);
            await HoldAsync(TimeSpan.FromSeconds(1.5), ct);
            await f.Stack.StopWorkerAsync(member);
        }
    });

    /// <summary>One worker, three more join (four: one partition each), then the three leave gracefully, one by one.</summary>
    public static Fault ScaleOutAndIn { get; } = new("worker-1-4-1-replicas", new(Workers: 1), async (f, ct) =>
    {
        var added = new List<WorkerProcess>();
        for (var i = 0; i < 3; i++)
        {
            added.Add(await f.Stack.StartWorkerAsync(ct));
        }

        await HoldAsync(TimeSpan.FromSeconds(2), ct);
        foreach (var worker in added)
        {
            await f.Stack.StopWorkerAsync(worker);
        }
    });

    /// <summary>The API (a child process) is SIGKILLed with uploads in flight and started again on the same port.</summary>
    public static Fault ApiKill { get; } = new("api-sigkill", new(), async (f, ct) =>
    {
        await f.Stack.KillAndRestartApiAsync(ct);
        await HoldAsync(TimeSpan.FromSeconds(1), ct);
        await f.Stack.KillAndRestartApiAsync(ct);
    });

    /// <summary>For 5 s every third attempt is abandoned half-way through its body; the client then retries it.</summary>
    public static Fault ClientDisconnects { get; } = new("api-client-disconnects", new(), async (f, ct) =>
    {
        f.Clients.AbandonEvery = 3;
        await HoldAsync(Hold, ct);
        f.Clients.AbandonEvery = 0;
    });

    /// <summary>
    /// A 2 MiB in-flight budget (the least the API accepts is 1.5 MiB), and 32 more sessions each posting five
    /// 100–300 KB payloads back to back: about three times the budget wanted at once, so the API answers 429 and
    /// the clients retry. The flood is bounded in bytes
    /// (~32 MB, ~11 MB after LZ4) so that the mock's 5 MiB per-partition retention is not outrun: a first version
    /// without a bound flooded for 5 s, the worker fell 5 MiB behind on a partition and the mock dropped accepted
    /// payloads it had not read yet (the worker reported it as data loss: offset out of range, missing chunks).
    /// </summary>
    public static Fault Flood { get; } = new("api-flood-beyond-budget", new(ApiArgs: ["--Api:InFlightBudgetBytes=2097152"]), async (f, ct) =>
    {
        await using var flood = new RecordingClients(
            f.Stack.ApiAddress, TestApiKeys.IngestReadKey, new LoadShape(32, TimeSpan.Zero, r => r.Next(100_000, 300_000), PayloadsPerSession: 5),
            f.Ledger, $"flood-{Guid.NewGuid():N}"[..20]);
        await flood.Completion.WaitAsync(TimeSpan.FromSeconds(60), ct);
    });

    /// <summary>
    /// The faults the soak repeats on one long-lived stack (its own broker and Postgres, default API settings):
    /// all but those needing other API settings (produce errors, flood) or a chunk-heavy load (stop mid-reassembly).
    /// </summary>
    public static IReadOnlyList<Fault> Soak { get; } =
    [
        OneBrokerDown, AllBrokersDown, LeaderMoved, RttSpike, FetchErrors,
        DatabaseRestart, ConnectionDrops, StatementTimeouts, DiskFull, LockContention,
        WorkerKill, RebalanceStorm, ScaleOutAndIn, ApiKill, ClientDisconnects,
    ];

    private static int LeaderOf(FaultStack stack, int partition)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        return admin.GetMetadata(stack.Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Single(p => p.PartitionId == partition).Leader;
    }

    private static MockCluster Mock(FaultContext f) => f.Stack.Mock ?? throw new InvalidOperationException("broker faults need the stack's own mock cluster");

    private static Task HoldAsync(TimeSpan duration, CancellationToken ct) => Task.Delay(duration, ct); // the fault's duration: a schedule

    private static async Task TerminateBackendsAsync(FaultStack stack, CancellationToken ct) =>
        await ExecuteAsync(stack,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", ct);

    private static async Task ExecuteAsync(FaultStack stack, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(stack.UnpooledConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }
}
