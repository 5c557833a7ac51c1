using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ingest.Contracts.Codec;
using Ingest.Contracts.Identity;

namespace Ingest.Contracts.Envelope;

/// <summary>
/// What the API says about one payload, carried in Kafka headers beside the encoded value.
/// </summary>
/// <param name="ProjectId">Project the session belongs to.</param>
/// <param name="SessionId">Client-chosen session id.</param>
/// <param name="Seq">Client-chosen sequence number, 0 … 2^63−1.</param>
/// <param name="ContentType">Original media type (<c>application/json</c> or <c>application/octet-stream</c>).</param>
/// <param name="Encoding">Codec of the value, <see cref="PayloadCodec.Name"/>.</param>
/// <param name="ReceivedAt">When the API received the request.</param>
/// <param name="PayloadId">Unique id of this upload.</param>
/// <param name="Length">
/// Decoded bytes of the payload up to and including this chunk; on the last chunk, the whole payload's length.
/// </param>
/// <param name="Checksum">
/// XxHash3-64 (seed 0) of the decoded bytes up to and including this chunk; on the last chunk, of the whole payload.
/// </param>
/// <param name="ChunkIndex">Index of this message among the payload's chunks, from 0.</param>
/// <param name="IsLastChunk">True on the payload's last chunk (and on a payload sent as one message).</param>
/// <param name="IsAbort">
/// True on an upload's abort marker: the API gave the upload up after producing some of its chunks (never a last one).
/// </param>
public sealed record PayloadEnvelope(
    string ProjectId,
    string SessionId,
    long Seq,
    string ContentType,
    string Encoding,
    DateTimeOffset ReceivedAt,
    Guid PayloadId,
    long Length,
    ulong Checksum,
    int ChunkIndex = 0,
    bool IsLastChunk = true,
    bool IsAbort = false)
{
    /// <summary>The envelope version this code writes and the only one it reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Kafka key of the envelope's session.</summary>
    public byte[] Key => SessionKey.For(ProjectId, SessionId);

    /// <summary>Writes the envelope into <paramref name="headers"/>.</summary>
    public Headers WriteTo(Headers headers)
    {
        Add(headers, IngestHeaders.Version, CurrentVersion.ToString(CultureInfo.InvariantCulture));
        Add(headers, IngestHeaders.Project, ProjectId);
        Add(headers, IngestHeaders.Session, SessionId);
        Add(headers, IngestHeaders.Seq, Seq.ToString(CultureInfo.InvariantCulture));
        Add(headers, IngestHeaders.ContentType, ContentType);
        Add(headers, IngestHeaders.Encoding, Encoding);
        Add(headers, IngestHeaders.ReceivedAt, ReceivedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        Add(headers, IngestHeaders.PayloadId, PayloadId.ToString("N"));
        Add(headers, IngestHeaders.Length, Length.ToString(CultureInfo.InvariantCulture));
        Add(headers, IngestHeaders.Checksum, Checksum.ToString("x16", CultureInfo.InvariantCulture));
        Add(headers, IngestHeaders.Chunk, ChunkIndex.ToString(CultureInfo.InvariantCulture));
        Add(headers, IngestHeaders.LastChunk, IsLastChunk ? "1" : "0");
        if (IsAbort)
        {
            Add(headers, IngestHeaders.Abort, "1");
        }

        return headers;
    }

    /// <summary>Reads and validates an envelope.</summary>
    /// <exception cref="EnvelopeException">A header is missing, malformed, or of an unknown version.</exception>
    public static PayloadEnvelope ReadFrom(Headers? headers)
    {
        if (headers is null)
        {
            throw new EnvelopeException("Message has no headers; it is not an Ingest payload.");
        }

        var version = Required(headers, IngestHeaders.Version);
        if (version != "1")
        {
            throw new EnvelopeException($"Unknown envelope version '{version}' (this build reads {CurrentVersion}).");
        }

        var project = Required(headers, IngestHeaders.Project);
        if (!Ids.IsValidProjectId(project))
        {
            throw new EnvelopeException($"Header {IngestHeaders.Project} '{project}' is not a valid project id.");
        }

        var session = Required(headers, IngestHeaders.Session);
        if (!Ids.IsValidSessionId(session))
        {
            throw new EnvelopeException($"Header {IngestHeaders.Session} '{session}' is not a valid session id.");
        }

        var seqText = Required(headers, IngestHeaders.Seq);
        if (!Ids.TryParseSeq(seqText, out var seq))
        {
            throw new EnvelopeException($"Header {IngestHeaders.Seq} '{seqText}' is not an integer in 0 … 2^63−1.");
        }

        var encoding = Required(headers, IngestHeaders.Encoding);
        if (encoding != PayloadCodec.Name)
        {
            throw new EnvelopeException($"Header {IngestHeaders.Encoding} '{encoding}' is not a known codec.");
        }

        var isLast = ParseFlag(headers, IngestHeaders.LastChunk);
        var isAbort = headers.TryGetLastBytes(IngestHeaders.Abort, out _) && ParseFlag(headers, IngestHeaders.Abort);
        if (isAbort && isLast)
        {
            throw new EnvelopeException($"Header {IngestHeaders.Abort} is set on a last chunk; an abort marker never completes an upload.");
        }

        return new PayloadEnvelope(
            project,
            session,
            seq,
            Required(headers, IngestHeaders.ContentType),
            encoding,
            DateTimeOffset.FromUnixTimeMilliseconds(ParseLong(headers, IngestHeaders.ReceivedAt)),
            ParseGuid(headers, IngestHeaders.PayloadId),
            ParseLong(headers, IngestHeaders.Length),
            ParseHex(headers, IngestHeaders.Checksum),
            ParseChunkIndex(headers),
            isLast,
            isAbort);
    }

    private static int ParseChunkIndex(Headers headers)
    {
        var value = ParseLong(headers, IngestHeaders.Chunk);
        return value <= int.MaxValue
            ? (int)value
            : throw new EnvelopeException($"Header {IngestHeaders.Chunk} '{value}' is out of range.");
    }

    private static bool ParseFlag(Headers headers, string name) => Required(headers, name) switch
    {
        "1" => true,
        "0" => false,
        var text => throw new EnvelopeException($"Header {name} '{text}' is not 0 or 1."),
    };

    private static void Add(Headers headers, string name, string value) =>
        headers.Add(name, System.Text.Encoding.UTF8.GetBytes(value));

    private static string Required(Headers headers, string name)
    {
        if (!headers.TryGetLastBytes(name, out var bytes) || bytes is null)
        {
            throw new EnvelopeException($"Header {name} is missing.");
        }

        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new EnvelopeException($"Header {name} is not valid UTF-8.", ex);
        }
    }

    private static long ParseLong(Headers headers, string name)
    {
        var text = Required(headers, name);
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new EnvelopeException($"Header {name} '{text}' is not a non-negative integer.");
    }

    private static Guid ParseGuid(Headers headers, string name)
    {
        var text = Required(headers, name);
        return Guid.TryParseExact(text, "N", out var value)
            ? value
            : throw new EnvelopeException($"Header {name} '{text}' is not a 32-digit id.");
    }

    private static ulong ParseHex(Headers headers, string name)
    {
        var text = Required(headers, name);
        return text.Length == 16 && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new EnvelopeException($"Header {name} '{text}' is not 16 hex digits.");
    }
}
