using Quiver.Storage.Files;

namespace Quiver.Storage.Tests.Files;

public sealed class ChecksummedFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(3_000_000)]
    public void Round_trip(int size)
    {
        var path = _dir.Combine("state.bin");
        var body = Random(size, 7);
        ChecksummedFile.WriteAtomic(path, "TEST", 3, s =>
        {
            // Mix of small and large writes.
            var written = 0;
            var chunk = 1;
            while (written < body.Length)
            {
                var n = Math.Min(chunk, body.Length - written);
                s.Write(body, written, n);
                written += n;
                chunk = chunk * 3 % 400_000 + 1;
            }
        });

        var content = ChecksummedFile.Read(path, "TEST", 3);
        Assert.Equal(3, content.Version);
        Assert.Equal(body, content.Body.ToArray());
        Assert.Equal(ChecksummedFile.HeaderSize + size, new FileInfo(path).Length);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Replaces_an_existing_file()
    {
        var path = _dir.Combine("state.bin");
        ChecksummedFile.WriteAtomic(path, "TEST", 1, s => s.Write([1, 2, 3]));
        ChecksummedFile.WriteAtomic(path, "TEST", 2, s => s.Write([4, 5]));
        var content = ChecksummedFile.Read(path, "TEST", 2);
        Assert.Equal(2, content.Version);
        Assert.Equal(new byte[] { 4, 5 }, content.Body.ToArray());
    }

    [Fact]
    public void Flipped_body_byte_is_detected()
    {
        var path = WriteSample();
        FlipByte(path, ChecksummedFile.HeaderSize + 50);
        var ex = Assert.Throws<StorageCorruptionException>(() => ChecksummedFile.Read(path, "TEST", 1));
        Assert.Equal(path, ex.FilePath);
        Assert.Equal(ChecksummedFile.HeaderSize, ex.Offset);
        Assert.Contains("body checksum", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(22)]
    public void Flipped_header_byte_is_detected(int offset)
    {
        var path = WriteSample();
        FlipByte(path, offset);
        var ex = Assert.Throws<StorageCorruptionException>(() => ChecksummedFile.Read(path, "TEST", 1));
        Assert.Contains("header checksum", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_or_extended_file_is_detected()
    {
        var path = WriteSample();
        using (var f = new FileStream(path, FileMode.Open))
        {
            f.SetLength(f.Length - 1);
        }

        var ex = Assert.Throws<StorageCorruptionException>(() => ChecksummedFile.Read(path, "TEST", 1));
        Assert.Contains("body is", ex.Reason, StringComparison.Ordinal);

        File.WriteAllBytes(path, new byte[10]);
        ex = Assert.Throws<StorageCorruptionException>(() => ChecksummedFile.Read(path, "TEST", 1));
        Assert.Equal(0, ex.Offset);
    }

    [Fact]
    public void Wrong_kind_and_newer_version_are_rejected()
    {
        var path = WriteSample();
        var ex = Assert.Throws<StorageCorruptionException>(() => ChecksummedFile.Read(path, "OTHR", 1));
        Assert.Contains("TEST", ex.Reason, StringComparison.Ordinal);

        ChecksummedFile.WriteAtomic(path, "TEST", 5, s => s.Write([1]));
        ex = Assert.Throws<StorageCorruptionException>(() => ChecksummedFile.Read(path, "TEST", 4));
        Assert.Contains("unsupported format version 5", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ABC")]
    [InlineData("ABCDE")]
    [InlineData("AB\u00e9D")]
    public void Kind_must_be_four_ascii_characters(string kind)
    {
        Assert.Throws<ArgumentException>(() => ChecksummedFile.WriteAtomic(_dir.Combine("x"), kind, 1, _ => { }));
    }

    [Fact]
    public void Leftover_temp_file_from_a_crash_does_not_affect_the_old_file_and_is_replaced()
    {
        var path = WriteSample();
        var original = ChecksummedFile.Read(path, "TEST", 1).Body.ToArray();

        // A crash mid-write leaves a partial temp file behind.
        File.WriteAllBytes(path + ".tmp", Random(77, 3));
        Assert.Equal(original, ChecksummedFile.Read(path, "TEST", 1).Body.ToArray());

        ChecksummedFile.WriteAtomic(path, "TEST", 1, s => s.Write([9, 9, 9]));
        Assert.Equal(new byte[] { 9, 9, 9 }, ChecksummedFile.Read(path, "TEST", 1).Body.ToArray());
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Failing_body_writer_leaves_the_old_file_intact()
    {
        var path = WriteSample();
        var original = File.ReadAllBytes(path);
        _ = Assert.Throws<InvalidOperationException>(() => ChecksummedFile.WriteAtomic(path, "TEST", 1, s =>
        {
            s.Write(new byte[500_000]);
            throw new InvalidOperationException("boom");
        }));

        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    private string WriteSample()
    {
        var path = _dir.Combine("sample.bin");
        var body = Random(200, 42);
        ChecksummedFile.WriteAtomic(path, "TEST", 1, s => s.Write(body));
        return path;
    }

    private static byte[] Random(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    internal static void FlipByte(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        var b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x40));
    }
}
