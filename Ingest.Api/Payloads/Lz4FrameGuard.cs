using System.Buffers.Binary;

namespace Ingest.Api.Payloads;

/// <summary>
/// Follows an LZ4 frame stream (frames, one after another, and skippable frames) as its raw bytes pass, and refuses a
/// frame whose descriptor declares blocks larger than <see cref="MaxBlockBytes"/> before the decoder sees it: K4os'
/// decoder allocates a buffer of the declared block size and holds a whole block before it returns a byte, so a frame
/// of 4 MiB blocks would let a client park 4 MiB per connection outside the in-flight budget.
/// Anything that is not LZ4 framing stops the guard; the decoder then refuses it.
/// </summary>
public sealed class Lz4FrameGuard
{
    /// <summary>The largest block size accepted: 256 KiB (block maximum size id 5), the chunk size.</summary>
    public const int MaxBlockBytes = 256 * 1024;

    private const uint FrameMagic = 0x184D2204;
    private const uint SkippableMagicMask = 0xFFFFFFF0;
    private const uint SkippableMagic = 0x184D2A50;

    private readonly byte[] _field = new byte[4];
    private State _state = State.Magic;
    private int _fieldLength;
    private long _skip;
    private byte _flags;

    private enum State
    {
        Magic,
        Descriptor,
        BlockSize,
        SkippableSize,
        Done,
    }

    /// <summary>Follows <paramref name="raw"/>, the next bytes of the body.</summary>
    /// <exception cref="UploadFailedException">A frame declares blocks above <see cref="MaxBlockBytes"/> (<see cref="Problems.UploadOutcome.Lz4BlockTooLarge"/>).</exception>
    public void Observe(ReadOnlySpan<byte> raw)
    {
        while (!raw.IsEmpty && _state != State.Done)
        {
            if (_skip > 0)
            {
                var n = (int)Math.Min(_skip, raw.Length);
                raw = raw[n..];
                _skip -= n;
                continue;
            }

            var want = _state switch
            {
                State.Descriptor => 2,
                _ => 4,
            };
            var take = Math.Min(want - _fieldLength, raw.Length);
            raw[..take].CopyTo(_field.AsSpan(_fieldLength));
            raw = raw[take..];
            _fieldLength += take;
            if (_fieldLength == want)
            {
                _fieldLength = 0;
                Step();
            }
        }
    }

    private void Step()
    {
        var value = BinaryPrimitives.ReadUInt32LittleEndian(_field);
        switch (_state)
        {
            case State.Magic when value == FrameMagic:
                _state = State.Descriptor;
                break;
            case State.Magic when (value & SkippableMagicMask) == SkippableMagic:
                _state = State.SkippableSize;
                break;
            case State.Magic:
                _state = State.Done; // not a frame: the decoder says so
                break;
            case State.Descriptor:
                _flags = _field[0];
                var blockBytes = 1 << (8 + (2 * ((_field[1] >> 4) & 0x7))); // id 4: 64 KiB, 5: 256 KiB, 6: 1 MiB, 7: 4 MiB
                if (blockBytes > MaxBlockBytes)
                {
                    throw new UploadFailedException(UploadFailure.BlockTooLarge(
                        $"the LZ4 frame declares blocks of up to {blockBytes} bytes; at most {MaxBlockBytes} are accepted (lz4 -B5 or -B4)."));
                }

                // Then the content size (8 bytes) if flagged, the dictionary id (4) if flagged, and the header checksum (1).
                _skip = ((_flags & 0x08) != 0 ? 8 : 0) + ((_flags & 0x01) != 0 ? 4 : 0) + 1;
                _state = State.BlockSize;
                break;
            case State.BlockSize when value == 0:
                _skip = (_flags & 0x04) != 0 ? 4 : 0; // end mark, then the content checksum if flagged
                _state = State.Magic;
                break;
            case State.BlockSize:
                _skip = (value & 0x7FFFFFFF) + ((_flags & 0x10) != 0 ? 4 : 0); // block data, then its checksum if flagged
                break;
            case State.SkippableSize:
                _skip = value;
                _state = State.Magic;
                break;
        }
    }
}
