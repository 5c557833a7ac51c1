using System.Globalization;
using System.Diagnostics;

namespace Ingest.Benchmarks;

/// <summary>
/// CPU time as Linux accounts it in <c>/proc</c>: of a process (utime + stime of <c>/proc/PID/stat</c>), of this process's
/// threads of one name, of the whole machine, and which local process listens on a TCP port (a real broker's).
/// </summary>
public static class ProcessCpu
{
    /// <summary>Clock ticks per second of the stat files (<c>getconf CLK_TCK</c>; 100 on Linux).</summary>
    public static readonly double TicksPerSecond = ClockTicks();

    /// <summary>utime + stime of <paramref name="pid"/> so far; null once it has exited (or was never local).</summary>
    public static TimeSpan? OfProcess(int pid) => Ticks($"/proc/{pid}/stat") is { } ticks ? Time(ticks) : null;

    /// <summary>
    /// CPU of this process's threads named <paramref name="comm"/>: the embedded broker lives in the harness's own process as
    /// librdkafka's <c>rdk:mock</c> thread.
    /// </summary>
    public static TimeSpan ThreadsOfSelf(string comm)
    {
        var ticks = 0L;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == comm)
                {
                    ticks += Ticks(Path.Combine(task, "stat")) ?? 0;
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return Time(ticks);
    }

    /// <summary>
    /// CPU so far of this process's threads, summed by thread name with digits dropped (librdkafka's <c>rdk:broker1</c>,
    /// <c>rdk:broker2</c>… count as one <c>rdk:broker</c>; .NET's thread-pool workers as one).
    /// </summary>
    public static Dictionary<string, TimeSpan> ThreadsOfSelfByName()
    {
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var name = new string([.. File.ReadAllText(Path.Combine(task, "comm")).Trim().Where(c => !char.IsAsciiDigit(c))]);
                byName[name] = byName.GetValueOrDefault(name) + (Ticks(Path.Combine(task, "stat")) ?? 0);
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return byName.ToDictionary(p => p.Key, p => Time(p.Value), StringComparer.Ordinal);
    }

    /// <summary>
    /// CPU time of the calling thread so far, to the nanosecond (the first field of <c>/proc/thread-self/schedstat</c>), for a
    /// synchronous loop measured on its own thread: the clock-tick counters of the stat files are 10 ms coarse.
    /// </summary>
    public static TimeSpan OfCurrentThread() =>
        TimeSpan.FromTicks(long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[0], CultureInfo.InvariantCulture) / 100);

    /// <summary>Busy CPU time of the whole machine so far (user, nice, system, irq, softirq, steal of <c>/proc/stat</c>).</summary>
    public static TimeSpan MachineBusy()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return Time(new[] { 1, 2, 3, 6, 7, 8 }.Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture)));
    }

    /// <summary>The parent of <paramref name="pid"/> (field 4 of its stat), or null when it is not a local process.</summary>
    public static int? ParentOf(int pid) => Fields($"/proc/{pid}/stat") is { } f ? int.Parse(f[1], CultureInfo.InvariantCulture) : null;

    /// <summary>A process's command line as <c>ps</c> shows it (a Postgres backend's title names its database), or null.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The pids of every process now running.</summary>
    public static IEnumerable<int> All() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(n => int.Parse(n!, CultureInfo.InvariantCulture));

    /// <summary>
    /// The local process with a listening TCP socket on <paramref name="port"/> (a real broker's client port), found
    /// through the socket's inode in <c>/proc/net/tcp{,6}</c> and the processes' fds; null when none is visible (a remote
    /// broker, or one run by another user).
    /// </summary>
    public static int? Listening(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists))
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = f[1];
                if (f[3] == "0A" && int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add($"socket:[{f[9]}]");
                }
            }
        }

        foreach (var pid in inodes.Count == 0 ? [] : All())
        {
            try
            {
                if (Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Any(fd => new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target)))
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to look at.
            }
        }

        return null;
    }

    private static TimeSpan Time(long ticks) => TimeSpan.FromSeconds(ticks / TicksPerSecond);

    /// <summary>utime (field 14) + stime (field 15); children that exited are not in them (cutime/cstime are their parent's).</summary>
    private static long? Ticks(string statFile) =>
        Fields(statFile) is { } f ? long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture) : null;

    /// <summary>The fields after the parenthesised name (which may hold spaces): state is [0], ppid [1], utime [11], stime [12].</summary>
    private static string[]? Fields(string statFile)
    {
        try
        {
            var stat = File.ReadAllText(statFile);
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary><c>getconf CLK_TCK</c>, asked once; 100 (what Linux has used on every common architecture) if it cannot answer.</summary>
    private static double ClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true });
            var answer = getconf?.StandardOutput.ReadToEnd().Trim();
            getconf?.WaitForExit();
            return double.TryParse(answer, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100; // no getconf on PATH
        }
    }
}
