using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ingest.Testing;

/// <summary>Fault injection on one node of a <see cref="LocalKafka"/> cluster: kill, graceful stop, restart, pause.</summary>
public sealed partial class LocalKafka
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);
    private readonly List<Task> _starting = [];

    /// <summary>SIGKILL of one node: no controlled shutdown, its partitions lose their leader until the others notice.</summary>
    public async Task KillAsync(int node, CancellationToken cancellationToken)
    {
        var pid = Pid(node);
        await RunAsync(Script!, ["kill", "--dir", Directory, "--node", Node(node)], TimeSpan.FromSeconds(30), cancellationToken);
        await ForgetWhenExitedAsync(node, pid, ExitTimeout, cancellationToken);
    }

    /// <summary>
    /// SIGTERM of one node: a controlled shutdown (the controller moves the node's leaderships to other replicas before it
    /// exits); returns once the process is gone, failing after <paramref name="timeout"/>.
    /// </summary>
    public async Task StopAsync(int node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pid = Pid(node);
        Signal(node, "TERM");
        await ForgetWhenExitedAsync(node, pid, timeout, cancellationToken);
    }

    /// <summary>Starts a stopped or killed node again (same data, same ports) and waits until it listens.</summary>
    public async Task UpAsync(int node, CancellationToken cancellationToken)
    {
        if (!IsRunning(node))
        {
            Forget(node); // a pid file naming a dead (or zombie) process would make kafka.sh think the node still runs
        }

        try
        {
            await RunAsync(Script!, ["up", "--dir", Directory, "--node", Node(node)], StartTimeout, cancellationToken);
        }
        catch (InvalidOperationException) when (IsRunning(node))
        {
            // kafka.sh waits 60 s for the port; a node recovering many logs on two busy cores took 75 s (a soak), so
            // a node that still runs gets the rest of the start timeout.
            await WaitListeningAsync(node, cancellationToken);
        }
    }

    /// <summary>
    /// Starts a stopped or killed node again without waiting for it: a JVM start takes 10–30 s on two busy cores, and a
    /// fault is over once its nodes are relaunched. <see cref="WhenStartedAsync"/> waits for (and reports) the starts.
    /// </summary>
    public void BeginUp(int node)
    {
        lock (_starting)
        {
            _starting.Add(UpAsync(node, CancellationToken.None));
        }
    }

    /// <summary>Waits until every node begun with <see cref="BeginUp"/> listens; throws what a start failed with.</summary>
    public async Task WhenStartedAsync()
    {
        Task[] starting;
        lock (_starting)
        {
            starting = [.. _starting];
            _starting.Clear();
        }

        await Task.WhenAll(starting);
    }

    /// <summary>SIGSTOP: the node keeps its sockets open and answers nothing (a long GC pause or a network stall).</summary>
    public void Pause(int node) => Signal(node, "STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>; nothing when the node does not run.</summary>
    public void Resume(int node)
    {
        if (IsRunning(node))
        {
            Signal(node, "CONT");
        }
    }

    /// <summary>Whether node <paramref name="node"/>'s process is alive (a paused node is alive; an unreaped zombie is not).</summary>
    public bool IsRunning(int node) => Pid(node) is { } pid && IsAlive(pid);

    /// <summary>The process id of node <paramref name="node"/>, from kafka.sh's pid file.</summary>
    public int? Pid(int node)
    {
        var file = PidFile(node);
        return File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    /// <summary>The last lines of node <paramref name="node"/>'s broker log, for failure messages.</summary>
    public string LogTail(int node, int lines = 40)
    {
        var file = Path.Combine(Directory, $"node{Node(node)}", "broker.log");
        return File.Exists(file) ? string.Join('\n', File.ReadLines(file).TakeLast(lines)) : "(no broker.log)";
    }

    private async Task WaitListeningAsync(int node, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, PortOf(node), cancellationToken);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until && IsRunning(node))
            {
                await Task.Delay(500, cancellationToken); // polling a condition with a deadline
            }
        }
    }

    private string PidFile(int node) => Path.Combine(Directory, $"node{Node(node)}", "pid");

    /// <summary>
    /// Waits until the node's process has exited, then removes its pid file. The node's parent (kafka.sh) is gone, so
    /// an exited node is reaped by init, which on some machines (this CI's VM) takes seconds: until then the zombie
    /// answers kafka.sh's <c>kill -0</c>, and an <c>up</c> would take the node for running and wait for its port.
    /// </summary>
    private async Task ForgetWhenExitedAsync(int node, int? pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + timeout;
        while (pid is { } p && IsAlive(p))
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"Node {node} (pid {p}) still runs {timeout.TotalSeconds:0} s after it was signalled:\n{LogTail(node)}");
            }

            await Task.Delay(50, cancellationToken); // polling a condition with a deadline
        }

        Forget(node);
    }

    private void Forget(int node) => File.Delete(PidFile(node));

    /// <summary>True while /proc shows the process and it is not a zombie (state Z) or dead (X).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var state = stat[(stat.LastIndexOf(')') + 1)..].TrimStart()[0]; // the command name, in parentheses, may hold spaces
            return state is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private void Signal(int node, string signal)
    {
        if (Pid(node) is not { } pid)
        {
            throw new InvalidOperationException($"Node {node} has no pid file in {Directory}.");
        }

        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
