using Ingest.Api.Sessions;

namespace Ingest.Api.Tests.Sessions;

public sealed class PayloadCursorTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(255L)]
    [InlineData(1_234_567_890_123L)]
    [InlineData(long.MaxValue)]
    public void Round_trips(long position)
    {
        var cursor = PayloadCursor.Encode(position);

        Assert.Matches("^[A-Za-z0-9_-]{11}$", cursor);
        Assert.True(PayloadCursor.TryDecode(cursor, out var decoded));
        Assert.Equal(position, decoded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("AAAAAAAAAAE=")]       // padded
    [InlineData("AAAAAAAAAA+")]        // base64, not base64url
    [InlineData("AAAAAAAAAAB")]        // stray low bits: not what Encode writes
    [InlineData("AAAAAAAAAAAA")]       // 12 characters
    [InlineData("__________8")]        // negative position
    [InlineData("AAAAAAAAA A")]
    public void Rejects_what_Encode_did_not_make(string cursor) => Assert.False(PayloadCursor.TryDecode(cursor, out _));
}
