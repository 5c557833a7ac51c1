using Ingest.Contracts.Identity;

namespace Ingest.Contracts.Tests;

public sealed class IdsTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("Session_01-ABC")]
    public void Valid_session_ids_are_accepted(string id) => Assert.True(Ids.IsValidSessionId(id));

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("dot.ted")]
    [InlineData("ünï")]
    [InlineData("slash/")]
    public void Invalid_session_ids_are_refused(string id) => Assert.False(Ids.IsValidSessionId(id));

    [Fact]
    public void Session_id_length_limit_is_128()
    {
        Assert.True(Ids.IsValidSessionId(new string('a', 128)));
        Assert.False(Ids.IsValidSessionId(new string('a', 129)));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Valid_seqs_parse(string text, long expected)
    {
        Assert.True(Ids.TryParseSeq(text, out var seq));
        Assert.Equal(expected, seq);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1e3")]
    [InlineData("9223372036854775808")]
    [InlineData("0x10")]
    public void Invalid_seqs_are_refused(string text) => Assert.False(Ids.TryParseSeq(text, out _));
}
