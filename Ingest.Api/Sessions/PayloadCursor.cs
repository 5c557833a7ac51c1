using System.Buffers.Binary;
using System.Buffers.Text;

namespace Ingest.Api.Sessions;

/// <summary>
/// The opaque paging cursor: base64url (no padding) of the last returned position as 8 big-endian bytes.
/// Clients only hand it back; its shape may change.
/// </summary>
public static class PayloadCursor
{
    private const int EncodedLength = 11; // 8 bytes in unpadded base64url

    public static string Encode(long position)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, position);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The position after which the next page starts; false for anything <see cref="Encode"/> did not make.</summary>
    public static bool TryDecode(string? cursor, out long position)
    {
        position = 0;
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        try
        {
            if (cursor is not { Length: EncodedLength }
                || !Base64Url.TryDecodeFromChars(cursor, bytes, out var written)
                || written != sizeof(long))
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false; // TryDecodeFromChars throws rather than returns false on characters outside the alphabet
        }

        position = BinaryPrimitives.ReadInt64BigEndian(bytes);
        // Reject a non-canonical spelling (stray low bits in the last character) and negative positions.
        return position >= 0 && Encode(position) == cursor;
    }
}
