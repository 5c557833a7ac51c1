using Npgsql;

namespace Ingest.Faults.Tests.Harness;

/// <summary>Database faults: all transient, none may lose, dead-letter or reorder anything.</summary>
public static partial class Cells
{
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
}
