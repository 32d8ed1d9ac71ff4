using System.Text;
using Quiver.Inference.Internal;

namespace Quiver.Inference.Tests;

public sealed class Murmur3Tests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("hello", 0x248bfa47u)]
    [InlineData("hello world", 0x5e928f0fu)]
    [InlineData("run", 0xf1764c48u)]
    [InlineData("мир", 0xb6603b92u)]
    public void Hash_matches_reference_murmur3_x86_32(string text, uint expected)
    {
        Assert.Equal(expected, Murmur3.Hash32(Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void Seed_changes_the_hash()
    {
        // Published test vector: an empty input with seed 1.
        Assert.Equal(0x514E28B7u, Murmur3.Hash32([], seed: 1));
    }

    [Theory]
    [InlineData("hello", 613153351u)] // 0x248bfa47 is positive as an i32: unchanged
    [InlineData("run", 243905464u)] // 0xf1764c48 is negative as an i32: 2^32 - 0xf1764c48
    [InlineData("the", 1132748958u)]
    public void Token_id_is_the_absolute_value_of_the_signed_hash(string token, uint expected)
    {
        Assert.Equal(expected, Murmur3.TokenId(token));
        Assert.Equal(expected, Bm25Encoder.TokenId(token));
    }

    [Fact]
    public void Long_tokens_hash_like_short_ones()
    {
        var token = new string('x', 1000) + "é";
        var signed = unchecked((int)Murmur3.Hash32(Encoding.UTF8.GetBytes(token)));
        Assert.Equal((uint)Math.Abs((long)signed), Murmur3.TokenId(token));
    }
}
