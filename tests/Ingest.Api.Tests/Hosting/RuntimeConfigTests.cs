using System.Text.Json;

namespace Ingest.Api.Tests.Hosting;

/// <summary>What the API process's runtimeconfig.json (written from Ingest.Api.csproj, shipped beside Ingest.Api.dll) sets.</summary>
public sealed class RuntimeConfigTests
{
    [Fact]
    public void Thread_pool_workers_do_not_spin_and_gc_is_workstation()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Ingest.Api.runtimeconfig.json");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var properties = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
    }
}
