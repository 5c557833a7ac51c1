using Confluent.Kafka;
using Ingest.Contracts.Chunking;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;
using Xunit;

namespace Ingest.Testing;

/// <summary>One payload's chunks as read back from the topic, checked against the chunk contract.</summary>
public sealed record ProducedPayload(PayloadEnvelope Last, byte[] Bytes, IReadOnlyList<ConsumeResult<byte[], byte[]>> Messages)
{
    /// <summary>
    /// Groups <paramref name="messages"/> by payload id and reassembles those with a last chunk, asserting for each: one key
    /// and partition, and in offset order what <see cref="ChunkSequenceVerifier"/> checks (indexes 0…n-1, running length
    /// and XxHash3 matching the bytes so far, nothing after the last chunk or an abort marker), every value a valid codec
    /// block. Payloads without a last chunk (aborted or not) are returned in <paramref name="incomplete"/>.
    /// </summary>
    public static List<ProducedPayload> Reassemble(IEnumerable<ConsumeResult<byte[], byte[]>> messages, out List<Guid> incomplete)
    {
        var complete = new List<ProducedPayload>();
        incomplete = [];
        foreach (var group in messages.GroupBy(m => PayloadEnvelope.ReadFrom(m.Message.Headers).PayloadId))
        {
            var chunks = group.OrderBy(m => m.Offset.Value).ToList();
            Assert.Single(chunks.Select(m => Convert.ToHexString(m.Message.Key)).Distinct());
            Assert.Single(chunks.Select(m => m.Partition.Value).Distinct());
            var verifier = new ChunkSequenceVerifier();
            using var bytes = new MemoryStream();
            foreach (var chunk in chunks)
            {
                var decoded = PayloadCodec.Decode(chunk.Message.Value);
                var verdict = verifier.Add(PayloadEnvelope.ReadFrom(chunk.Message.Headers), decoded);
                Assert.False(verdict.IsCorrupt, verdict.Reason);
                bytes.Write(decoded);
            }

            if (verifier.Finish().IsComplete)
            {
                complete.Add(new ProducedPayload(PayloadEnvelope.ReadFrom(chunks[^1].Message.Headers), bytes.ToArray(), chunks));
            }
            else
            {
                incomplete.Add(group.Key);
            }
        }

        return complete;
    }
}
