namespace Ingest.LoadGen;

/// <summary>What one load-generator run does.</summary>
public sealed record LoadOptions(
    Uri Url,
    string Key,
    int Sessions,
    int PayloadsPerSession,
    SizeSpec Size,
    double Rate,
    bool Verify,
    TimeSpan VerifyTimeout,
    int Seed,
    string SessionPrefix,
    int MaxAttempts,
    bool Json)
{
    public long TotalPayloads => (long)Sessions * PayloadsPerSession;
}
