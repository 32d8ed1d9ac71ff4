using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Index;

/// <summary>
/// Software prefetch of whole rows for graph walks and scans of scattered rows. A walk's time goes into rows read from random places, so the
/// loads of the next rows must be in flight while one is scored. Prefetching only a row's first lines and leaving
/// the rest to the hardware's streamers stalls on long rows (on fashion-mnist's 3,136-byte rows, whole rows three
/// ahead walked 1.25-1.3x faster than eight lines of eight rows ahead); short rows are prefetched further ahead.
/// </summary>
public static class RowPrefetch
{
    /// <summary>Cache lines a walk keeps requested ahead of the row it scores, over the rows in its window.</summary>
    private const int LinesInFlight = 160;

    /// <summary>
    /// Rows prefetched ahead, at most: about all of a node's new neighbours at M = 16. On glove, 16 walked 1.11x faster
    /// than 8 (floats and int8 codes alike); 32 was no faster.
    /// </summary>
    private const int MaxRowsAhead = 16;

    /// <summary>Lines of one row prefetched, at most (8 KiB): past that the kernel's own streaming keeps up.</summary>
    private const int MaxRowLines = 128;

    /// <summary>How many rows ahead of the one being scored a walk prefetches, for rows of <paramref name="rowBytes"/>.</summary>
    public static int Window(int rowBytes)
    {
        var lines = Math.Max(1, (Math.Min(rowBytes, MaxRowLines * 64) + 63) / 64);
        return Math.Clamp(LinesInFlight / lines, 1, MaxRowsAhead);
    }

    /// <summary>Starts loading the <paramref name="bytes"/> bytes at <paramref name="start"/> (up to <see cref="MaxRowLines"/> lines).</summary>
    /// <remarks>A prefetch is only a hint and never faults, so a stale address (the GC moved a managed buffer) is harmless.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Lines(ref byte start, int bytes)
    {
        if (!Sse.IsSupported || bytes <= 0)
            return;
        var p = (byte*)Unsafe.AsPointer(ref start);
        var end = p + Math.Min(bytes, MaxRowLines * 64);
        // Short rows (codes) without a loop: the same row length every call, so these branches predict.
        Sse.Prefetch0(p);
        if (bytes > 64)
        {
            Sse.Prefetch0(p + 64);
            for (p += 128; p < end; p += 64)
                Sse.Prefetch0(p);
        }

        // A row starting late in a line ends in one more.
        Sse.Prefetch0(end - 1);
    }
}
