namespace Ingest.Contracts.Envelope;

/// <summary>A Kafka message whose headers are not a valid Ingest envelope.</summary>
public sealed class EnvelopeException : Exception
{
    public EnvelopeException(string message)
        : base(message)
    {
    }

    public EnvelopeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EnvelopeException()
    {
    }
}
