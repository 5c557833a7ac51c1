namespace Ingest.Worker;

/// <summary>Entry point of the worker process.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        _ = args;
        return 0;
    }
}
