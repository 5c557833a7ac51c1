using Ingest.Api.Payloads;

namespace Ingest.Api.Tests.Payloads;

public sealed class PayloadIdsTests
{
    [Fact]
    public void Ids_are_version_4_rfc_guids()
    {
        for (var i = 0; i < 1000; i++)
        {
            var id = PayloadIds.Next();
            Assert.Equal(4, id.Version);
            Assert.Equal(0b10, id.Variant >> 2); // RFC 9562: the two high bits 10
            Assert.Equal('4', id.ToString("N")[12]);
        }
    }

    [Fact]
    public async Task Ids_are_distinct_across_threads()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Enumerable.Range(0, 50_000).Select(_ => PayloadIds.Next()).ToArray())));
        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.DoesNotContain(Guid.Empty, all);
    }
}
