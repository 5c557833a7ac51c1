using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.DeadLetter;

namespace Ingest.Contracts.Tests;

/// <summary>Pins the letter headers the worker writes and the ops tool and redrive read.</summary>
public sealed class DeadLetterHeadersTests
{
    private static readonly DeadLetterReason Reason = new(
        "boom", 3, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_456));

    private static string[] Wire(Headers headers) =>
        [.. headers.Select(h => $"{h.Key}={Encoding.UTF8.GetString(h.GetValueBytes())}")];

    [Fact]
    public void A_letter_carries_these_headers_after_the_originals()
    {
        var headers = new Headers { { "ingest-seq", "7"u8.ToArray() } };

        DeadLetterHeaders.Write(headers, new TopicPartitionOffset("ingest.payloads", 2, 42), Reason);

        Assert.Equal(
            [
                "ingest-seq=7", "ingest-dlq-error=boom", "ingest-dlq-topic=ingest.payloads", "ingest-dlq-partition=2", "ingest-dlq-offset=42",
                "ingest-dlq-attempts=3", "ingest-dlq-first-failed-at=1700000000000", "ingest-dlq-failed-at=1700000000456",
            ],
            Wire(headers));
    }

    [Fact]
    public void A_chunked_letter_names_its_staged_chunks_and_a_long_error_is_cut()
    {
        var headers = DeadLetterHeaders.Write(
            [], new TopicPartitionOffset("t", 0, 9), Reason with { Error = new string('x', 1500), ChunkOffsets = "5,7,9" });

        var values = headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));
        Assert.Equal("5,7,9", values[DeadLetterHeaders.ChunkOffsets]);
        Assert.Equal(DeadLetterHeaders.MaxErrorLength, values[DeadLetterHeaders.Error].Length);
    }

    [Theory]
    [InlineData("ingest-dlq-error", true)]
    [InlineData("ingest-dlq-chunk-offsets", true)]
    [InlineData("ingest-redriven-from", false)]
    [InlineData("ingest-seq", false)]
    public void Dead_letter_headers_are_told_apart_from_the_rest(string name, bool isDeadLetter)
    {
        Assert.Equal(isDeadLetter, DeadLetterHeaders.IsDeadLetterHeader(name));
    }
}
