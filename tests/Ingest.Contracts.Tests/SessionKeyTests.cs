using System.Text;
using Ingest.Contracts.Identity;

namespace Ingest.Contracts.Tests;

public sealed class SessionKeyTests
{
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_matches_the_Java_client_vectors(string input, int expected)
    {
        // Vectors of org.apache.kafka.common.utils.UtilsTest.testMurmur2.
        Assert.Equal(expected, SessionKey.Murmur2(Encoding.ASCII.GetBytes(input)));
    }

    [Fact]
    public void Key_is_project_slash_session()
    {
        Assert.Equal("dev/abc_123", Encoding.UTF8.GetString(SessionKey.For("dev", "abc_123")));
    }

    [Fact]
    public void Same_session_id_in_two_projects_gets_different_keys()
    {
        Assert.NotEqual(SessionKey.For("p1", "s"), SessionKey.For("p2", "s"));
    }

    [Theory]
    [InlineData("dev", "has/slash")]
    [InlineData("dev", "")]
    [InlineData("a/b", "s")]
    public void Invalid_ids_are_refused(string project, string session)
    {
        Assert.Throws<ArgumentException>(() => SessionKey.For(project, session));
    }

    [Fact]
    public void PartitionFor_is_in_range_and_stable()
    {
        for (var i = 0; i < 1000; i++)
        {
            var key = SessionKey.For("dev", $"s{i}");
            var partition = SessionKey.PartitionFor(key, 12);
            Assert.InRange(partition, 0, 11);
            Assert.Equal(partition, SessionKey.PartitionFor(key, 12));
        }
    }

    [Fact]
    public void Partitioner_is_murmur2_random()
    {
        Assert.Equal(Confluent.Kafka.Partitioner.Murmur2Random, SessionKey.Partitioner);
    }
}
