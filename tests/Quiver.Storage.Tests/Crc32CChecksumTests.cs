using System.Text;
using Quiver.Storage.Internal;

namespace Quiver.Storage.Tests;

public sealed class Crc32CChecksumTests
{
    [Fact]
    public void Matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32CChecksum.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Incremental_equals_one_shot()
    {
        var data = new byte[1000];
        new Random(1).NextBytes(data);
        var state = Crc32CChecksum.Begin();
        state = Crc32CChecksum.Update(state, data.AsSpan(0, 333));
        state = Crc32CChecksum.Update(state, data.AsSpan(333));
        Assert.Equal(Crc32CChecksum.Compute(data), Crc32CChecksum.End(state));
    }
}
