using System.Runtime.InteropServices;

namespace Ingest.DevBroker;

/// <summary>
/// Finds the librdkafka that Confluent.Kafka loaded (so the mock cluster and the clients share one
/// library and one version) and resolves its exports. Confluent.Kafka does not expose the mock API.
/// </summary>
internal static class LibrdkafkaNative
{
    private static readonly Lazy<nint> Handle = new(Load);

    /// <summary>Path of the loaded librdkafka, for diagnostics.</summary>
    public static string? LoadedPath { get; private set; }

    public static nint Export(string name) =>
        NativeLibrary.TryGetExport(Handle.Value, name, out var address)
            ? address
            : throw new EntryPointNotFoundException($"librdkafka at {LoadedPath} has no export {name}.");

    private static nint Load()
    {
        Confluent.Kafka.Library.Load();
        // Library.Load() maps the redist's native library; its path is in our own memory map
        // (on Debian 12 the redist picks centos8-librdkafka.so).
        var path = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[5].Contains("librdkafka", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .FirstOrDefault()
            ?? throw new InvalidOperationException(
                "Confluent.Kafka.Library.Load() did not map a librdkafka shared object (/proc/self/maps has none).");
        LoadedPath = path;
        return NativeLibrary.Load(path);
    }
}
