namespace Ingest.Worker.Tests.Support;

/// <summary>
/// <c>ingest-ops dlq redrive</c>, the one redrive implementation (tests/Ingest.Ops/Redrive), run in-process against a
/// scenario's topics: its exit code, standard output and standard error.
/// </summary>
internal static class OpsRedrive
{
    /// <summary>Redrives from <paramref name="topic"/>'s dead-letter topic; a null <paramref name="database"/> passes none.</summary>
    public static async Task<(int Code, string Output, string Error)> RunAsync(
        string topic, string bootstrapServers, string? database, IEnumerable<string> args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Ingest.Ops.Program.MainAsync(
            ["dlq", "redrive", "--topic", topic, "--bootstrap", bootstrapServers, "--db", database ?? "", .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }
}
