using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ingest.Testing;

/// <summary>
/// A worker as a child process (<c>dotnet Ingest.Worker/bin/{config}/net10.0/Ingest.Worker.dll</c>), so a
/// test can SIGKILL it mid-batch or SIGTERM it (graceful stop) and read its memory from <c>/proc</c>.
/// <see cref="StartApiAsync"/> starts the API the same way.
/// </summary>
public sealed partial class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WorkerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The process's last 2,000 lines of output (stdout and stderr), for failure messages and for tests that read its
    /// log (assignments, start-up milestones): a worker refused its instance id for a KIP-848 session of 45 s writes a
    /// few hundred lines before it starts.
    /// </summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts a worker with <paramref name="args"/> and waits until its /healthz answers.</summary>
    public static Task<WorkerProcess> StartAsync(IEnumerable<string> args, CancellationToken cancellationToken) =>
        StartOnFreePortAsync(WorkerDll(), args, cancellationToken);

    /// <summary>
    /// Starts the API (<c>Ingest.Api.dll</c>) on <paramref name="address"/> (a free port when null, the same one to
    /// restart it after a kill) and waits until its /healthz answers.
    /// </summary>
    public static Task<WorkerProcess> StartApiAsync(Uri? address, IEnumerable<string> args, CancellationToken cancellationToken) =>
        address is null
            ? StartOnFreePortAsync(ServiceDll("Ingest.Api"), args, cancellationToken)
            : StartAsync(ServiceDll("Ingest.Api"), address, args, cancellationToken);

    /// <summary>
    /// A port found free is released before the child binds it, so another process can take it first: the child then
    /// exits with "address already in use", and it is started again on another port (a few times at most).
    /// </summary>
    private static async Task<WorkerProcess> StartOnFreePortAsync(string dll, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartAsync(dll, FreeAddress(), args, cancellationToken);
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Lost the port to another process; try another one.
            }
        }
    }

    private static async Task<WorkerProcess> StartAsync(string dll, Uri address, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet", [dll, $"--urls={address}", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start dotnet {dll}.");
        var worker = new WorkerProcess(process, address);
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(cancellationToken); // and for the end of its output
                throw new InvalidOperationException($"{Path.GetFileName(dll)} exited with {process.ExitCode} at start-up:\n{worker.Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return worker;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Not answering yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                await worker.DisposeAsync();
                throw new TimeoutException($"{Path.GetFileName(dll)} did not answer /healthz within 60 s:\n{worker.Output}");
            }

            await Task.Delay(50, cancellationToken); // polling a condition with a deadline
        }
    }

    /// <summary>
    /// Runs <c>Ingest.Worker.dll</c> with <paramref name="args"/> to its exit (a subcommand, or a start-up that must
    /// fail), within 90 s; returns its exit code and everything it wrote.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [WorkerDll(), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("Could not start dotnet Ingest.Worker.dll.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>SIGKILL: no drain, no commit, no LeaveGroup.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM (what an orchestrator sends): the worker drains, commits and leaves; waits for the exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan deadline)
    {
        if (!_process.HasExited && Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        using var timeout = new CancellationTokenSource(deadline);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Peak resident set size so far (VmHWM), in bytes; 0 once the process has exited.</summary>
    public long PeakRssBytes() => ReadStatusKiB("VmHWM:") * 1024;

    /// <summary>Resident set size now (VmRSS), in bytes; 0 once the process has exited.</summary>
    public long RssBytes() => ReadStatusKiB("VmRSS:") * 1024;

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>The worker assembly built beside the test's configuration (Debug/Release).</summary>
    public static string WorkerDll() => ServiceDll("Ingest.Worker");

    private static string ServiceDll(string project)
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/{config}/net10.0
        var path = Path.Combine(PostgresFixture.RepositoryRoot(), project, "bin", configuration, "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first: {path} is missing.", path);
    }

    private long ReadStatusKiB(string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 2000)
        {
            _output.TryDequeue(out _);
        }
    }

    private static Uri FreeAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
