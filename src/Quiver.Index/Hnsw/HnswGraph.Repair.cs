namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>
    /// Makes nodes that no level-0 walk from the entry point can reach reachable again. Shrinking a full list by
    /// the heuristic can drop the last in-link of a node (typically one of a group of near-duplicates), and such a
    /// node could then never be returned. After the build, a breadth-first walk from the entry point finds them;
    /// each unreachable node is linked from its first out-neighbour that is reachable, into a free slot or in place
    /// of a link whose target has another in-link, and everything newly reachable through it is marked.
    /// Deterministic (nodes in index order), single-threaded, O(count * M).
    /// </summary>
    /// <returns>How many nodes were re-linked.</returns>
    internal int ConnectUnreachable()
    {
        if (_count < 2)
        {
            return 0;
        }

        var inDegree = new int[_count];
        for (var node = 0; node < _count; node++)
        {
            foreach (var next in Neighbors(node, 0))
            {
                inDegree[next]++;
            }
        }

        var reachable = new bool[_count];
        var queue = new Queue<int>();
        MarkReachable(EntryPoint, reachable, queue);
        var repaired = 0;
        int before;
        do
        {
            // A node whose out-neighbours only become reachable later in the pass is handled by the next pass.
            before = repaired;
            for (var node = 0; node < _count; node++)
            {
                if (reachable[node])
                {
                    continue;
                }

                foreach (var via in Neighbors(node, 0))
                {
                    if (reachable[via] && TryAddInLink(via, node, inDegree))
                    {
                        repaired++;
                        MarkReachable(node, reachable, queue);
                        break;
                    }
                }
            }
        }
        while (repaired > before);
        return repaired;
    }

    private void MarkReachable(int start, bool[] reachable, Queue<int> queue)
    {
        reachable[start] = true;
        queue.Enqueue(start);
        while (queue.Count > 0)
        {
            foreach (var next in Neighbors(queue.Dequeue(), 0))
            {
                if (!reachable[next])
                {
                    reachable[next] = true;
                    queue.Enqueue(next);
                }
            }
        }
    }

    /// <summary>Adds <paramref name="target"/> to the level-0 list of <paramref name="node"/> without orphaning another node.</summary>
    private bool TryAddInLink(int node, int target, int[] inDegree)
    {
        ref var head = ref LinkHead(node, 0);
        var links = Level0.Slice((node * _stride0) + 1, head);
        if (head < 2 * _m)
        {
            Level0[(node * _stride0) + 1 + head] = target;
            head++;
            inDegree[target]++;
            return true;
        }

        // Replace the link (from the end: the heuristic keeps the closest first) whose target keeps another in-link.
        var best = -1;
        for (var i = links.Length - 1; i >= 0; i--)
        {
            if (inDegree[links[i]] > 1 && (best < 0 || inDegree[links[i]] > inDegree[links[best]]))
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return false;
        }

        inDegree[links[best]]--;
        links[best] = target;
        inDegree[target]++;
        return true;
    }
}
