using System.IO.Hashing;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Envelope;

namespace Ingest.Api.Tests.Hosting;

/// <summary>One payload's chunks as read back from the topic, checked against the chunk contract.</summary>
public sealed record ProducedPayload(PayloadEnvelope Last, byte[] Bytes, IReadOnlyList<ConsumeResult<byte[], byte[]>> Messages)
{
    /// <summary>
    /// Groups <paramref name="messages"/> by payload id and reassembles those with a last chunk, asserting for each:
    /// one key and partition, increasing offsets, indexes 0…n-1, the last flag only on the last, running length and
    /// XxHash3 matching the bytes so far, every value a valid codec block. Payloads without a last chunk are returned
    /// in <paramref name="incomplete"/>.
    /// </summary>
    public static List<ProducedPayload> Reassemble(
        IEnumerable<ConsumeResult<byte[], byte[]>> messages, out List<Guid> incomplete)
    {
        var complete = new List<ProducedPayload>();
        incomplete = [];
        foreach (var group in messages.GroupBy(m => PayloadEnvelope.ReadFrom(m.Message.Headers).PayloadId))
        {
            var chunks = group.OrderBy(m => m.Offset.Value).ToList();
            var envelopes = chunks.Select(m => PayloadEnvelope.ReadFrom(m.Message.Headers)).ToList();
            Assert.Single(chunks.Select(m => Convert.ToHexString(m.Message.Key)).Distinct());
            Assert.Single(chunks.Select(m => m.Partition.Value).Distinct());
            Assert.Equal(Enumerable.Range(0, chunks.Count), envelopes.Select(e => e.ChunkIndex));
            var hash = new XxHash3();
            using var bytes = new MemoryStream();
            for (var i = 0; i < chunks.Count; i++)
            {
                var decoded = PayloadCodec.Decode(chunks[i].Message.Value);
                hash.Append(decoded);
                bytes.Write(decoded);
                Assert.Equal(bytes.Length, envelopes[i].Length);
                Assert.Equal(hash.GetCurrentHashAsUInt64(), envelopes[i].Checksum);
                Assert.Equal(i == chunks.Count - 1 && envelopes[i].IsLastChunk, envelopes[i].IsLastChunk);
            }

            if (envelopes[^1].IsLastChunk)
            {
                complete.Add(new ProducedPayload(envelopes[^1], bytes.ToArray(), chunks));
            }
            else
            {
                incomplete.Add(group.Key);
            }
        }

        return complete;
    }
}
