using System.Diagnostics;

namespace Ingest.Testing;

/// <summary>Whether a Docker engine answers (the <c>docker</c> command alone proves nothing).</summary>
public static class Docker
{
    private static readonly Lazy<bool> Answers = new(Probe);

    public static bool EngineAnswers => Answers.Value;

    private static bool Probe()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("docker", "info")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no docker command at all
        }
    }
}
