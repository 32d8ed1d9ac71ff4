using System.Buffers.Binary;
using System.Numerics;

namespace Quiver.Storage.Internal;

/// <summary>
/// Standard CRC-32C (Castagnoli; init 0xFFFFFFFF, reflected, final xor 0xFFFFFFFF) built on the hardware-accelerated
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>. Use <see cref="Begin"/>, <see cref="Update(uint, ReadOnlySpan{byte})"/>
/// and <see cref="End"/> for incremental computation, or <see cref="Compute"/> for one span.
/// </summary>
internal static class Crc32CChecksum
{
    public static uint Begin() => 0xFFFFFFFFu;

    public static uint End(uint state) => ~state;

    public static uint Compute(ReadOnlySpan<byte> data) => End(Update(Begin(), data));

    public static uint Update(uint state, ulong littleEndianValue) => BitOperations.Crc32C(state, littleEndianValue);

    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 32)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data[8..]));
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data[16..]));
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data[24..]));
            data = data[32..];
        }

        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }
}
