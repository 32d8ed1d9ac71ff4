using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Quiver.Inference.Internal;

/// <summary>
/// MurmurHash3 x86 32-bit. Qdrant's BM25 turns every token into a sparse index with this hash of the
/// token's UTF-8 bytes (seed 0), so reproducing it bit for bit keeps our sparse vectors interchangeable
/// with Qdrant's.
/// </summary>
internal static class Murmur3
{
    private const uint C1 = 0xcc9e2d51;
    private const uint C2 = 0x1b873593;

    /// <summary>The 32-bit hash of <paramref name="data"/>.</summary>
    public static uint Hash32(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var h = seed;
        var blocks = data.Length / 4;
        for (var i = 0; i < blocks; i++)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4, 4));
            h ^= MixK(k);
            h = BitOperations.RotateLeft(h, 13);
            h = (h * 5) + 0xe6546b64;
        }

        var tail = data[(blocks * 4)..];
        uint last = 0;
        switch (tail.Length)
        {
            case 3:
                last = (uint)tail[2] << 16 | (uint)tail[1] << 8 | tail[0];
                break;
            case 2:
                last = (uint)tail[1] << 8 | tail[0];
                break;
            case 1:
                last = tail[0];
                break;
        }

        if (tail.Length > 0)
            h ^= MixK(last);

        h ^= (uint)data.Length;
        return FinalMix(h);
    }

    /// <summary>
    /// Qdrant's token id: the hash read as a signed 32-bit integer, then its absolute value
    /// (<c>(murmur3_32(token, 0) as i32).unsigned_abs()</c>), so <c>i32::MIN</c> maps to 2^31.
    /// </summary>
    public static uint TokenId(string token)
    {
        var byteCount = Encoding.UTF8.GetByteCount(token);
        var buffer = byteCount <= 256 ? stackalloc byte[256] : new byte[byteCount];
        var written = Encoding.UTF8.GetBytes(token, buffer);
        var signed = unchecked((int)Hash32(buffer[..written]));
        return signed < 0 ? (uint)(-(long)signed) : (uint)signed;
    }

    private static uint MixK(uint k)
    {
        k *= C1;
        k = BitOperations.RotateLeft(k, 15);
        return k * C2;
    }

    private static uint FinalMix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }
}
