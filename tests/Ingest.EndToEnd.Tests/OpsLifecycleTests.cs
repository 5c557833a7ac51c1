using System.Text.Json;
using Ingest.Storage.Schema;
using Ingest.Testing;
using Npgsql;
using static Ingest.EndToEnd.Tests.OpsLifecycle;

namespace Ingest.EndToEnd.Tests;

/// <summary>
/// <c>ingest-ops projects erase</c> and <c>ingest-ops lifecycle</c> against a store whose rows are known. Settings are passed
/// in, not set in the process environment: the API and workers other tests start in this process read it.
/// </summary>
public sealed class OpsLifecycleTests(PostgresFixture postgres)
{
    private static readonly string[][] BothCommands = [["lifecycle"], ["projects", "erase", "acme", "--yes"]];

    [Fact]
    public async Task Erase_without_yes_exits_2_saying_what_it_would_do_and_records_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await StoreAsync(postgres, ct);
        await store.InsertAsync("acme", "s1", 0, [1], "application/json", 0, 0, ct);

        var (code, output, error) = await RunAsync(Settings(("Ingest:Projects:acme:Retention", "7.00:00:00")), "projects", "erase", "acme", "--db", store.ConnectionString);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Trim().Split('\n'));
        Assert.StartsWith("ingest-ops: would erase project acme", line, StringComparison.Ordinal);
        Assert.Contains("(7.00:00:00)", line, StringComparison.Ordinal);
        Assert.EndsWith("add --yes to do it", line, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync<long>(store, "SELECT count(*) FROM ingest.erased_projects", ct));
        Assert.Equal(0L, await ScalarAsync<long>(store, "SELECT count(*) FROM ingest.sessions WHERE erased_at IS NOT NULL", ct));
    }

    [Fact]
    public async Task Erase_records_the_project_marks_its_sessions_leaves_other_projects_alone_and_can_be_repeated()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await StoreAsync(postgres, ct);
        foreach (var (project, session) in new[] { ("acme", "s1"), ("acme", "s2"), ("acme", "s2"), ("other", "s1") })
        {
            await store.InsertAsync(project, session, await ScalarAsync<long>(store, "SELECT count(*) FROM ingest.payloads", ct), [1], "application/json", 0, 0, ct);
        }

        var settings = Settings(("Ingest:Projects:acme:Retention", "2.00:00:00"));
        var first = await JsonAsync(settings, "projects", "erase", "acme", "--yes", "--db", store.ConnectionString);
        var again = await JsonAsync(settings, "projects", "erase", "acme", "--yes", "--db", store.ConnectionString);

        Assert.Equal((false, 2, 0, "2.00:00:00"), (first.GetProperty("alreadyErased").GetBoolean(), first.GetProperty("sessionsMarked").GetInt32(),
            first.GetProperty("sessionsAlreadyErased").GetInt32(), first.GetProperty("retention").GetString()));
        Assert.Equal(TimeSpan.FromDays(2), first.GetProperty("keepUntil").GetDateTimeOffset() - first.GetProperty("erasedAt").GetDateTimeOffset());
        Assert.Equal((true, 0, 2), (again.GetProperty("alreadyErased").GetBoolean(), again.GetProperty("sessionsMarked").GetInt32(),
            again.GetProperty("sessionsAlreadyErased").GetInt32()));
        Assert.Equal(first.GetProperty("erasedAt").GetDateTimeOffset(), again.GetProperty("erasedAt").GetDateTimeOffset());
        Assert.Equal("acme", await ScalarAsync<string>(store, "SELECT string_agg(project, ',') FROM ingest.erased_projects", ct));
        Assert.Equal("acme/s1 acme/s2", await ScalarAsync<string>(store,
            "SELECT string_agg(project || '/' || session_id, ' ' ORDER BY session_id) FROM ingest.sessions WHERE erased_at IS NOT NULL", ct));
        Assert.Equal(4L, await store.CountAsync(ct)); // removing them is the workers' maintenance pass

        var (code, text, _) = await RunAsync(settings, "projects", "erase", "acme", "--yes", "--db", store.ConnectionString);
        Assert.Equal(0, code);
        Assert.Contains("project acme was already erased at", text, StringComparison.Ordinal);
        Assert.Contains("removed by the workers within Ingest:Lifecycle:CheckInterval (00:01:00, the default)", text, StringComparison.Ordinal);
        Assert.Contains("later payloads of the project are dropped until", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("an-id-that-is-far-too-long-for-a-project-an-id-that-is-far-too-long-for-a-project")]
    public async Task Erase_of_something_that_is_not_a_project_id_exits_2(string project)
    {
        var (code, _, error) = await RunAsync(Settings(), "projects", "erase", project, "--yes", "--db", "Host=unused");

        Assert.Equal(2, code);
        Assert.Contains("is not a project id", Assert.Single(error.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lifecycle_json_reports_the_stored_rows_retention_and_erasures_and_flags_a_project_past_its_retention()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await StoreAsync(postgres, ct);
        await store.InsertAsync("short", "s1", 0, [1], "application/json", 0, 0, ct);
        await store.InsertAsync("short", "s1", 1, [1], "application/json", 0, 1, ct);
        await store.InsertAsync("long", "s1", 0, [1], "application/json", 0, 2, ct);
        await store.InsertAsync("gone", "s1", 0, [1], "application/json", 0, 3, ct);
        // Stored 2 hours ago: past a 1 hour retention (+ the 1 minute check interval), well within 30 days.
        await ScalarAsync<int>(store, "WITH u AS (UPDATE ingest.payloads SET received_at = now() - interval '2 hours' WHERE seq = 0 RETURNING 1) SELECT count(*)::int FROM u", ct);
        var settings = Settings(("Ingest:Projects:short:Retention", "01:00:00"), ("Ingest:Projects:quiet:Retention", "3.00:00:00"));
        await JsonAsync(settings, "projects", "erase", "gone", "--yes", "--db", store.ConnectionString);

        var status = await JsonAsync(settings, "lifecycle", "--db", store.ConnectionString);

        Assert.Equal(("00:01:00", "30.00:00:00"), (status.GetProperty("checkInterval").GetString(), status.GetProperty("defaultRetention").GetString()));
        var projects = status.GetProperty("projects").EnumerateArray().ToDictionary(p => p.GetProperty("project").GetString()!);
        Assert.Equal(["gone", "long", "quiet", "short"], projects.Keys.Order());
        var shortProject = projects["short"];
        Assert.Equal(("01:00:00", "Ingest:Projects:short:Retention", 1L, false),
            (shortProject.GetProperty("retention").GetString(), shortProject.GetProperty("retentionFrom").GetString(),
             shortProject.GetProperty("sessions").GetInt64(), shortProject.GetProperty("erased").GetBoolean()));
        Assert.InRange(shortProject.GetProperty("oldestAgeSeconds").GetInt64(), 7200, 7260);
        Assert.Contains("past its retention (01:00:00) + CheckInterval (00:01:00)", Assert.Single(shortProject.GetProperty("warnings").EnumerateArray()).GetString(), StringComparison.Ordinal);
        var longProject = projects["long"];
        Assert.Equal(("30.00:00:00", "default", 0), (longProject.GetProperty("retention").GetString(), longProject.GetProperty("retentionFrom").GetString(),
            longProject.GetProperty("warnings").GetArrayLength()));
        Assert.InRange(longProject.GetProperty("oldestAgeSeconds").GetInt64(), 7200, 7260);
        Assert.Equal(JsonValueKind.Null, projects["quiet"].GetProperty("oldestReceivedAt").ValueKind);
        Assert.Equal((true, 1L, 1L), (projects["gone"].GetProperty("erased").GetBoolean(), projects["gone"].GetProperty("sessions").GetInt64(),
            projects["gone"].GetProperty("erasedSessionsUnpurged").GetInt64()));
        Assert.Equal("gone", Assert.Single(status.GetProperty("erasedProjects").EnumerateArray()).GetProperty("project").GetString());
        Assert.Single(status.GetProperty("warnings").EnumerateArray());
        var tables = status.GetProperty("tables").EnumerateArray().ToList();
        Assert.Equal(["payloads", "payload_chunks"], tables.Select(t => t.GetProperty("table").GetString()));
        Assert.Equal(await ScalarAsync<long>(store, "SELECT count(*) FROM ingest.partitions WHERE parent = 'payloads'", ct), tables[0].GetProperty("partitions").GetInt32());
        Assert.True(tables[0].GetProperty("totalBytes").GetInt64() > 0);
        Assert.Equal(0L, status.GetProperty("pendingUploads").GetInt64());
    }

    [Theory]
    [InlineData("Ingest:Projects:acme:Retention", "soon")]
    [InlineData("Ingest:Projects:elsewhere:Retention", "-1.00:00:00")]
    [InlineData("Ingest:Lifecycle:DefaultRetention", "0")]
    [InlineData("Ingest:Lifecycle:CheckInterval", "often")]
    public async Task A_bad_retention_setting_exits_1_naming_the_key(string key, string value)
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await StoreAsync(postgres, ct);
        foreach (var args in BothCommands)
        {
            var (code, _, error) = await RunAsync(Settings((key, value)), [.. args, "--db", store.ConnectionString]);

            Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}, {error}");
            Assert.Contains(key, Assert.Single(error.Trim().Split('\n')), StringComparison.Ordinal);
        }

        Assert.Equal(0L, await ScalarAsync<long>(store, "SELECT count(*) FROM ingest.erased_projects", ct));
    }

    [Fact]
    public async Task By_default_the_settings_are_the_environment_variables_the_workers_read()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await StoreAsync(postgres, ct);
        // A valid retention for a project of this test's own: the hosts other tests start in this process read it too.
        var project = $"env-{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable($"Ingest__Projects__{project}__Retention", "01:23:00");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await Ops.Program.MainAsync(["lifecycle", "--json", "--db", store.ConnectionString], output, error);

            Assert.True(code == 0, error.ToString());
            var listed = JsonDocument.Parse(output.ToString()).RootElement.GetProperty("projects").EnumerateArray()
                .Single(p => p.GetProperty("project").GetString() == project);
            Assert.Equal(("01:23:00", $"Ingest:Projects:{project}:Retention"),
                (listed.GetProperty("retention").GetString(), listed.GetProperty("retentionFrom").GetString()));
        }
        finally
        {
            Environment.SetEnvironmentVariable($"Ingest__Projects__{project}__Retention", null);
        }
    }

    [Fact]
    public async Task A_store_an_older_worker_migrated_exits_1_asking_for_a_worker_of_this_version()
    {
        var ct = TestContext.Current.CancellationToken;
        var connectionString = await postgres.CreateDatabaseAsync(ct);
        await using (var source = NpgsqlDataSource.Create(connectionString))
        {
            foreach (var migration in SchemaMigrator.Migrations.Where(m => m.Version < 6))
            {
                await using var command = source.CreateCommand(migration.Sql);
                await command.ExecuteNonQueryAsync(ct);
            }
        }

        foreach (var args in BothCommands)
        {
            var (code, _, error) = await RunAsync(Settings(), [.. args, "--db", connectionString]);

            Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}, {error}");
            Assert.Contains("older than migration 6", Assert.Single(error.Trim().Split('\n')), StringComparison.Ordinal);
            Assert.Contains("start a worker of this version first", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_a_database_both_commands_exit_1_saying_how_to_give_one()
    {
        foreach (var args in BothCommands)
        {
            var (code, _, error) = await RunAsync(Settings(), args);

            Assert.Equal(1, code);
            Assert.Contains("no database", Assert.Single(error.Trim().Split('\n')), StringComparison.Ordinal);
        }
    }
}
