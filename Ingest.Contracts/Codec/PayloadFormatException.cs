namespace Ingest.Contracts.Codec;

/// <summary>Encoded payload bytes that cannot be decoded: corrupt, truncated or of an unknown format.</summary>
public sealed class PayloadFormatException : Exception
{
    public PayloadFormatException(string message)
        : base(message)
    {
    }

    public PayloadFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PayloadFormatException()
    {
    }
}
