using System.Globalization;
using System.Text;

namespace Ingest.Benchmarks;

/// <summary>One drain of the backlog by <paramref name="Replicas"/> worker processes.</summary>
/// <param name="Replicas">Worker processes in the group.</param>
/// <param name="Payloads">The backlog, all stored at the end.</param>
/// <param name="PayloadsPerSecond">Payloads stored per second from the first storing transaction's start to all seen committed.</param>
/// <param name="StoredSeconds">From the first stored_at to all seen committed.</param>
/// <param name="WindowSeconds">The CPU window: from all replicas answering /healthz to all payloads stored.</param>
/// <param name="WindowPayloads">Payloads stored in the CPU window (the costs are per these).</param>
/// <param name="ReplicaCpuSeconds">CPU (utime + stime) of each replica process in the window.</param>
/// <param name="PostgresCpuSeconds">CPU of the Postgres processes working for the run's database (<see cref="PostgresCpu"/>); null: not local.</param>
/// <param name="BrokerCpuSeconds">CPU of the broker in the window (<see cref="BrokerProbe"/>); null: not measurable.</param>
/// <param name="MachineCpuSeconds">Busy CPU of the whole machine in the window.</param>
/// <param name="StartToStoredSeconds">From starting the processes to all stored (start-up and group join included).</param>
public sealed record ScalingRun(
    int Replicas, long Payloads, double PayloadsPerSecond, double StoredSeconds, double WindowSeconds, long WindowPayloads,
    IReadOnlyList<double> ReplicaCpuSeconds, double? PostgresCpuSeconds, double? BrokerCpuSeconds, double MachineCpuSeconds,
    double StartToStoredSeconds)
{
    public double WorkerCpuMsPer1000 => PerThousand(ReplicaCpuSeconds.Sum());

    public double? PostgresCpuMsPer1000 => PostgresCpuSeconds is { } s ? PerThousand(s) : null;

    public double? BrokerCpuMsPer1000 => BrokerCpuSeconds is { } s ? PerThousand(s) : null;

    public double MachineCoresBusy => WindowSeconds > 0 ? MachineCpuSeconds / WindowSeconds : double.NaN;

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"  scaling {Replicas} replica(s): {PayloadsPerSecond,8:0} payloads/s over {StoredSeconds:0.00} s; CPU per replica {string.Join(" / ", ReplicaCpuSeconds.Select(c => c.ToString("0.00", CultureInfo.InvariantCulture)))} s = {WorkerCpuMsPer1000:0} ms per 1,000; Postgres {PostgresCpuSeconds:0.00} s = {PostgresCpuMsPer1000:0} ms per 1,000; broker {BrokerCpuSeconds:0.00} s; machine {MachineCoresBusy:0.00} cores busy over {WindowSeconds:0.0} s; start → all stored {StartToStoredSeconds:0.0} s");

    private double PerThousand(double cpuSeconds) => WindowPayloads > 0 ? cpuSeconds * 1e6 / WindowPayloads : double.NaN;
}

/// <summary>The API's CPU per payload: a <c>wrk</c> run of 10 KB posts at <paramref name="Connections"/> connections.</summary>
/// <param name="PayloadsPerSecond">202 answers per second.</param>
/// <param name="ApiCores">CPU of the API (the harness process minus the embedded broker's thread), in cores.</param>
/// <param name="BrokerCores">The broker's CPU meanwhile, in cores; null: not measurable.</param>
/// <param name="MachineCores">Busy CPU of the whole machine meanwhile (wrk included), in cores.</param>
/// <param name="Connections">wrk's connections.</param>
/// <param name="Seconds">How long wrk ran.</param>
/// <param name="Errors">Non-202 answers and socket errors.</param>
/// <param name="P99Ms">wrk's p99 latency, ms.</param>
public sealed record ApiCost(
    double PayloadsPerSecond, double ApiCores, double? BrokerCores, double MachineCores, int Connections, double Seconds, long Errors, double P99Ms)
{
    public double ApiCpuMsPer1000 => PayloadsPerSecond > 0 ? ApiCores * 1e6 / PayloadsPerSecond : double.NaN;

    public double? BrokerCpuMsPer1000 => BrokerCores is { } b && PayloadsPerSecond > 0 ? b * 1e6 / PayloadsPerSecond : null;

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"  scaling API 10 KB: {PayloadsPerSecond:0} payloads/s at c={Connections} (p99 {P99Ms:0.0} ms, {Errors} non-202), API {ApiCores:0.00} cores = {ApiCpuMsPer1000:0} ms per 1,000; broker {BrokerCores:0.00} cores; machine {MachineCores:0.00}");
}

/// <summary>
/// The scaling scenario's part of the report: the replicas table and the capacity estimate. Costs per 1,000 payloads are
/// CPU-milliseconds; a rate r needs r × cost / 10⁶ cores, times <see cref="Headroom"/>.
/// </summary>
public sealed record ScalingReport(long Payloads, int Partitions, string Broker, string BrokerMeasured, IReadOnlyList<ScalingRun> Runs, ApiCost Api)
{
    /// <summary>Cores planned = cores measured × 1.5, so each tier runs at about 65 % busy and absorbs bursts and rebalances.</summary>
    public const double Headroom = 1.5;

    public static readonly int[] Rates = [1_000, 5_000, 10_000, 20_000];

    /// <summary>The highest worker cost of the runs: more replicas sharing cores cost a little more each (the conservative figure).</summary>
    public double WorkerCpuMsPer1000 => Runs.Max(r => r.WorkerCpuMsPer1000);

    public double? PostgresCpuMsPer1000 => Runs.Select(r => r.PostgresCpuMsPer1000).Where(c => c is not null).Max();

    /// <summary>Fetch (drain, highest of the runs) plus produce (the API run): what the broker here spent per payload.</summary>
    public double? BrokerCpuMsPer1000 =>
        Runs.Select(r => r.BrokerCpuMsPer1000).Where(c => c is not null).Max() is { } fetch && Api.BrokerCpuMsPer1000 is { } produce ? fetch + produce : null;

    public IEnumerable<CapacityRow> Capacity => Rates.Select(rate =>
    {
        double Cores(double? msPer1000) => msPer1000 is { } c ? rate * c / 1e6 * Headroom : double.NaN;
        var workers = Cores(WorkerCpuMsPer1000);
        return new CapacityRow(rate, rate * 10_000 / 1e6, Cores(Api.ApiCpuMsPer1000), workers, Math.Max(1, (int)Math.Ceiling(workers)),
            Cores(PostgresCpuMsPer1000), Cores(BrokerCpuMsPer1000));
    });

    public string Markdown()
    {
        var md = new StringBuilder();
        var one = Runs.FirstOrDefault(r => r.Replicas == 1)?.PayloadsPerSecond ?? double.NaN;
        md.AppendLine().AppendLine("## Scaling: worker replicas on one backlog").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"{Payloads:N0} payloads of 10 KB (recording-like JSON, LZ4) pre-filled on {Partitions} partitions, the same backlog drained by each replica count, each replica a separate worker process (defaults) in a fresh consumer group on a fresh database; broker: {Broker}. This machine has {Environment.ProcessorCount} cores: every replica, Postgres{(Broker.StartsWith("embedded", StringComparison.Ordinal) ? ", the broker" : "")} and the harness share them.");
        md.AppendLine().AppendLine("| replicas | payloads/s | vs 1 replica | CPU per replica (s) | workers CPU-ms / 1,000 | Postgres CPU (s) | Postgres CPU-ms / 1,000 | broker CPU (s) | machine cores busy | window (s) |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Runs)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Replicas} | {r.PayloadsPerSecond:N0} | {r.PayloadsPerSecond / one:0.00} | {string.Join(" / ", r.ReplicaCpuSeconds.Select(c => c.ToString("0.00", CultureInfo.InvariantCulture)))} | {r.WorkerCpuMsPer1000:0} | {Text(r.PostgresCpuSeconds, "0.00")} | {Text(r.PostgresCpuMsPer1000, "0")} | {Text(r.BrokerCpuSeconds, "0.00")} | {r.MachineCoresBusy:0.00} of {Environment.ProcessorCount} | {r.WindowSeconds:0.0} |");
        }

        md.AppendLine().AppendLine(CultureInfo.InvariantCulture,
            $"payloads/s: from the first storing transaction's start (stored_at) to all seen committed. CPU: utime + stime from /proc over the window from all replicas answering /healthz to all stored (the payloads stored in it are the denominator); Postgres: the postmaster, this database's backends and the shared writers (checkpointer, background writer, WAL writer, autovacuum launcher); broker: {BrokerMeasured}.");
        md.AppendLine().AppendLine(CultureInfo.InvariantCulture,
            $"API: wrk, 10 KB posts at {Api.Connections} connections for {Api.Seconds:0} s: {Api.PayloadsPerSecond:N0} payloads/s (p99 {Api.P99Ms:0.0} ms, {Api.Errors} non-202), API {Api.ApiCores:0.00} cores = {Api.ApiCpuMsPer1000:0} CPU-ms per 1,000; broker {Text(Api.BrokerCores, "0.00")} cores; machine {Api.MachineCores:0.00} cores busy.");

        md.AppendLine().AppendLine("### Capacity estimate, 10 KB payloads").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"CPU-ms per 1,000 payloads: API {Api.ApiCpuMsPer1000:0}, workers {WorkerCpuMsPer1000:0} (highest of the runs), Postgres {Text(PostgresCpuMsPer1000, "0")}, broker {Text(BrokerCpuMsPer1000, "0")} (produce + fetch, this run's broker). Cores = rate × cost / 10⁶ × {Headroom} headroom (each tier ≈ 65 % busy); worker replicas at ≈ 1 core each (no more replicas than partitions).");
        md.AppendLine().AppendLine("| payloads/s | MB/s | API cores | worker cores | worker replicas | Postgres cores | API + workers + Postgres | broker cores (this run's broker) |")
            .AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var c in Capacity)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Rate:N0} | {c.MegabytesPerSecond:0} | {c.ApiCores:0.0} | {c.WorkerCores:0.0} | {c.WorkerReplicas} | {Text(c.PostgresCores, "0.0")} | {Text(c.ApiCores + c.WorkerCores + c.PostgresCores, "0.0")} | {Text(c.BrokerCores, "0.0")} |");
        }

        return md.ToString();
    }

    private static string Text(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "not measured";
}

/// <summary>One row of the capacity estimate: cores per tier for <paramref name="Rate"/> payloads/s of 10 KB, headroom included.</summary>
public sealed record CapacityRow(
    int Rate, double MegabytesPerSecond, double ApiCores, double WorkerCores, int WorkerReplicas, double PostgresCores, double BrokerCores);
