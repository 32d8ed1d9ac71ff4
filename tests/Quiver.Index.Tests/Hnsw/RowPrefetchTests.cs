namespace Quiver.Index.Tests.Hnsw;

public sealed class RowPrefetchTests
{
    [Theory]
    [InlineData(104, 16)] // int8 codes of a 100-d row: two lines, as far ahead as the window goes
    [InlineData(400, 16)] // 100 floats: 7 lines
    [InlineData(1536, 6)] // 384 floats: 24 lines
    [InlineData(3136, 3)] // 784 floats (fashion-mnist): 49 lines
    [InlineData(6144, 1)] // 1536 floats: 96 lines
    [InlineData(1 << 20, 1)] // past the per-row cap: still one row ahead
    [InlineData(0, 16)]
    public void Window_keeps_about_160_lines_in_flight(int rowBytes, int rows) =>
        Assert.Equal(rows, RowPrefetch.Window(rowBytes));
}
