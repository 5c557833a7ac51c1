using Ingest.Api.Payloads;

namespace Ingest.Api.Tests.Payloads;

public sealed class PayloadContentTests
{
    [Theory]
    [InlineData("application/json", "application/json")]
    [InlineData("application/json; charset=utf-8", "application/json")]
    [InlineData("Application/JSON", "application/json")]
    [InlineData("application/octet-stream", "application/octet-stream")]
    [InlineData("application/octet-stream; foo=bar", "application/octet-stream")]
    public void Accepted_media_types_are_stored_without_parameters(string header, string stored) =>
        Assert.Equal(stored, PayloadContent.NegotiateMediaType(header));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("text/plain")]
    [InlineData("application/jsonx")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("not a media type")]
    public void Other_media_types_are_refused(string? header) => Assert.Null(PayloadContent.NegotiateMediaType(header));

    [Theory]
    [InlineData(null, ContentCoding.Identity)]
    [InlineData("", ContentCoding.Identity)]
    [InlineData("identity", ContentCoding.Identity)]
    [InlineData("gzip", ContentCoding.Gzip)]
    [InlineData("GZIP", ContentCoding.Gzip)]
    [InlineData(" lz4 ", ContentCoding.Lz4)]
    public void Supported_codings(string? header, ContentCoding expected)
    {
        Assert.True(PayloadContent.TryNegotiateCoding(header, out var coding));
        Assert.Equal(expected, coding);
    }

    [Theory]
    [InlineData("br")]
    [InlineData("deflate")]
    [InlineData("zstd")]
    [InlineData("gzip, lz4")]
    [InlineData("x-gzip")]
    public void Unsupported_codings_are_refused(string header) => Assert.False(PayloadContent.TryNegotiateCoding(header, out _));
}
