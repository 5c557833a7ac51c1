namespace Ingest.Api;

/// <summary>Entry point of the API process.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        _ = args;
        return 0;
    }
}
