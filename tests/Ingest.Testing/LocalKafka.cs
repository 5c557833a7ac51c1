using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ingest.Testing;

/// <summary>
/// A real Apache Kafka cluster (1 or 3 KRaft nodes on loopback) started with <c>kafka.sh</c> from the folder
/// <c>../shared/kafka</c> beside the repository, which developers' machines and CI have and a user's machine does
/// not (then <see cref="Available"/> is false and the fixture falls back to the mock cluster). Nodes can be
/// SIGKILLed, restarted, paused (SIGSTOP) and resumed, for fault tests that need a real broker's behaviour.
/// </summary>
public sealed partial class LocalKafka : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);
    private static readonly Lazy<string?> FoundScript = new(Find);
    private readonly bool _owned;

    private LocalKafka(string directory, int brokers, int basePort, string bootstrapServers, bool owned)
    {
        Directory = directory;
        Brokers = brokers;
        BasePort = basePort;
        BootstrapServers = bootstrapServers;
        _owned = owned;
    }

    /// <summary>The <c>kafka.sh</c> found beside the repository (<c>INGEST_KAFKA_SH</c> overrides), or null.</summary>
    public static string? Script => FoundScript.Value;

    /// <summary>Whether a real Kafka can be started here.</summary>
    public static bool Available => Script is not null;

    /// <summary>The cluster's state (data, logs, pids); removed on dispose when this instance started it there.</summary>
    public string Directory { get; }

    public int Brokers { get; }

    /// <summary>Node n listens on <c>BasePort + 2(n − 1)</c> for clients (the next port is its controller's).</summary>
    public int BasePort { get; }

    public string BootstrapServers { get; }

    /// <summary>
    /// Starts a cluster of <paramref name="brokers"/> nodes in <paramref name="directory"/>, or reuses the one already
    /// running there (several test processes may share one: they take turns under a lock file). With no directory, a
    /// new temporary one that <see cref="DisposeAsync"/> stops and removes.
    /// </summary>
    public static async Task<LocalKafka> StartAsync(int brokers, string? directory, CancellationToken cancellationToken)
    {
        var script = Script ?? throw new InvalidOperationException("kafka.sh is not available (../shared/kafka beside the repository).");
        var owned = string.IsNullOrWhiteSpace(directory);
        var dir = owned ? Path.Combine(Path.GetTempPath(), $"ingest-kafka-{Guid.NewGuid():N}") : Path.GetFullPath(directory!);
        System.IO.Directory.CreateDirectory(dir);
        using (await LockAsync(dir + ".lock", cancellationToken))
        {
            var existing = ReadClusterEnv(dir);
            var port = existing?.Port ?? FreePortRange(2 * brokers);
            var count = existing?.Brokers ?? brokers;
            // What kafka.sh prints: node n's client port is PORT + 2(n − 1).
            var bootstrap = string.Join(',', Enumerable.Range(0, count).Select(n => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port + (2 * n)}")));
            var cluster = new LocalKafka(dir, count, port, bootstrap, owned);
            try
            {
                try
                {
                    await RunAsync(
                        script, ["start", "--dir", dir, "--brokers", count.ToString(CultureInfo.InvariantCulture), "--port", port.ToString(CultureInfo.InvariantCulture)],
                        StartTimeout, cancellationToken);
                }
                catch (InvalidOperationException) when (Enumerable.Range(1, count).All(cluster.IsRunning))
                {
                    // kafka.sh waits 60 s for each node's port; three nodes starting on two cores loaded by other test runs
                    // took longer (a soak's start failed so): nodes that all still run get the rest of the start timeout.
                    for (var node = 1; node <= count; node++)
                    {
                        await cluster.WaitListeningAsync(node, cancellationToken);
                    }
                }
            }
            catch when (owned)
            {
                await cluster.DisposeAsync(); // a failed start must not leave nodes running
                throw;
            }

            return cluster;
        }
    }

    /// <summary>Client port of node <paramref name="node"/> (1-based).</summary>
    public int PortOf(int node) => BasePort + (2 * (node - 1));

    /// <summary>Node whose client port is <paramref name="port"/>, or null.</summary>
    public int? NodeOfPort(int port) =>
        Enumerable.Range(1, Brokers).Cast<int?>().FirstOrDefault(n => PortOf(n!.Value) == port);

    public async ValueTask DisposeAsync()
    {
        if (!_owned)
        {
            return; // shared: whoever named the directory stops it
        }

        for (var node = 1; node <= Brokers; node++)
        {
            Resume(node); // a paused node would only die after kafka.sh's 60 s grace
        }

        await RunAsync(Script!, ["stop", "--dir", Directory], TimeSpan.FromMinutes(3), CancellationToken.None);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
            File.Delete(Directory + ".lock");
        }
        catch (IOException)
        {
            // a leftover temp directory is harmless
        }
    }

    private static string Node(int node) => node.ToString(CultureInfo.InvariantCulture);

    private static string? Find()
    {
        var overridden = Environment.GetEnvironmentVariable("INGEST_KAFKA_SH");
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return File.Exists(overridden) ? Path.GetFullPath(overridden) : null;
        }

        // The repository root is the first ancestor of the test binaries holding Ingest.sln; kafka.sh is in ../shared/kafka.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ingest.sln")))
            {
                var script = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "kafka", "kafka.sh"));
                return File.Exists(script) ? script : null;
            }
        }

        return null;
    }

    private static (int Brokers, int Port)? ReadClusterEnv(string dir)
    {
        var file = Path.Combine(dir, "cluster.env");
        if (!File.Exists(file))
        {
            return null;
        }

        var values = File.ReadAllLines(file)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
        return (int.Parse(values["BROKERS"], CultureInfo.InvariantCulture), int.Parse(values["PORT"], CultureInfo.InvariantCulture));
    }

    /// <summary>A base port with <paramref name="count"/> consecutive free ports after it (clients and controllers).</summary>
    private static int FreePortRange(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var start = Random.Shared.Next(20_000, 40_000);
            if (Enumerable.Range(start, count).All(IsFree))
            {
                return start;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports found between 20000 and 40000.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>An exclusive lock on <paramref name="path"/> across processes (.NET takes an flock for FileShare.None).</summary>
    private static async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(200, cancellationToken); // another test process is starting the same cluster
            }
        }
    }

    private static async Task<string> RunAsync(string script, string[] args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("bash", [script, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start bash.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kafka.sh {string.Join(' ', args)} did not finish within {timeout}.");
        }

        var output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"kafka.sh {string.Join(' ', args)} exited with {process.ExitCode}:\n{output}\n{await stderr}");
        }

        return output;
    }
}
