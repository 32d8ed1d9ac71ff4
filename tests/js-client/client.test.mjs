// Drives a real Quiver server (QUIVER_URL) with the official Qdrant JS client and checks every answer
// against a brute-force model kept in this file. Run by Quiver.Server.Tests, which starts the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.QUIVER_URL;
assert.ok(url, 'QUIVER_URL must point at a running Quiver server');

const dim = 8;
const count = 1000;

// A fixed-seed generator (mulberry32), so a failure reproduces exactly.
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(42);
const points = Array.from({ length: count }, (_, i) => ({
  id: i + 1,
  vector: Array.from({ length: dim }, () => Math.fround(random() * 2 - 1)),
  payload: { group: i % 10, name: `p${i + 1}`, price: (i % 50) * 1.5, tags: i % 3 === 0 ? ['red', 'big'] : ['blue'] },
}));

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

function bruteForce(query, predicate, limit) {
  return points
    .filter(predicate)
    .map(p => ({ id: p.id, score: dot(query, p.vector) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, limit);
}

test('official JS client against Quiver', async (t) => {
  // QUIVER_API_KEY is set when the server requires a key (the TLS run).
  const client = new QdrantClient({ url, apiKey: process.env.QUIVER_API_KEY, checkCompatibility: true });
  const name = `js_client_${process.pid}_${Date.now()}`;

  await t.test('create collection', async () => {
    assert.equal(await client.createCollection(name, { vectors: { size: dim, distance: 'Dot' } }), true);
    const info = await client.getCollection(name);
    assert.equal(info.config.params.vectors.size, dim);
    assert.equal(info.config.params.vectors.distance, 'Dot');
    assert.equal(info.points_count, 0);
    assert.deepEqual((await client.collectionExists(name)), { exists: true });
  });

  await t.test('upsert 1000 points with payloads', async () => {
    for (let i = 0; i < count; i += 100) {
      const r = await client.upsert(name, { wait: true, points: points.slice(i, i + 100) });
      assert.equal(r.status, 'completed');
    }
    assert.equal((await client.getCollection(name)).points_count, count);
  });

  await t.test('query without filter returns the exact top 10', async () => {
    const query = points[17].vector.map(x => -x);
    const res = await client.query(name, { query, limit: 10, with_payload: true });
    const expected = bruteForce(query, () => true, 10);
    assert.deepEqual(res.points.map(p => p.id), expected.map(e => e.id));
    res.points.forEach((p, i) => assert.ok(Math.abs(p.score - expected[i].score) < 1e-4));
    assert.equal(res.points[0].payload.name, `p${expected[0].id}`);
  });

  await t.test('query with a filter returns the exact filtered top 5', async () => {
    const query = points[3].vector;
    const filter = {
      must: [{ key: 'group', match: { value: 3 } }, { key: 'price', range: { gte: 10, lt: 60 } }],
      must_not: [{ key: 'tags', match: { value: 'red' } }],
    };
    const res = await client.query(name, { query, filter, limit: 5 });
    const expected = bruteForce(query, p => p.payload.group === 3 && p.payload.price >= 10 && p.payload.price < 60 && !p.payload.tags.includes('red'), 5);
    assert.deepEqual(res.points.map(p => p.id), expected.map(e => e.id));
  });

  await t.test('prefetches fused by RRF rank the hand-fused brute-force lists', async () => {
    const q1 = points[5].vector;
    const q2 = points[8].vector.map(x => -x);
    const inGroup3 = p => p.payload.group === 3;
    const res = await client.query(name, {
      prefetch: [{ query: q1, limit: 20 }, { query: q2, filter: { must: [{ key: 'group', match: { value: 3 } }] }, limit: 20 }],
      query: { fusion: 'rrf' },
      limit: 10,
    });
    // Qdrant's RRF: a point at 0-based position p of a list scores 1 / (p + 2), summed over the lists.
    const fused = new Map();
    for (const list of [bruteForce(q1, () => true, 20), bruteForce(q2, inGroup3, 20)])
      list.forEach((e, p) => fused.set(e.id, (fused.get(e.id) ?? 0) + 1 / (p + 2)));
    const expected = [...fused].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || a.id - b.id).slice(0, 10);
    assert.deepEqual(res.points.map(p => p.id), expected.map(e => e.id));
    res.points.forEach((p, i) => assert.ok(Math.abs(p.score - expected[i].score) < 1e-5, `score ${p.score} vs ${expected[i].score}`));

    // A nearest query over the prefetched points rescores them: the best of the first list's top 20 by q2.
    const rescored = await client.query(name, { prefetch: { query: q1, limit: 20 }, query: q2, limit: 3 });
    const top20 = new Set(bruteForce(q1, () => true, 20).map(e => e.id));
    assert.deepEqual(rescored.points.map(p => p.id), bruteForce(q2, p => top20.has(p.id), 3).map(e => e.id));
  });

  await t.test('scroll pages through every point in id order', async () => {
    const seen = [];
    let offset = undefined;
    do {
      const page = await client.scroll(name, { limit: 128, offset, with_payload: false });
      seen.push(...page.points.map(p => p.id));
      offset = page.next_page_offset ?? undefined;
    } while (offset !== undefined);
    assert.deepEqual(seen, points.map(p => p.id));
  });

  await t.test('count with and without a filter', async () => {
    assert.deepEqual(await client.count(name, { exact: true }), { count: count });
    const red = await client.count(name, { filter: { must: [{ key: 'tags', match: { any: ['red'] } }] }, exact: true });
    assert.equal(red.count, points.filter(p => p.payload.tags.includes('red')).length);
  });

  await t.test('set payload merges keys', async () => {
    const r = await client.setPayload(name, { payload: { flag: true, group: 99 }, points: [1, 2, 3], wait: true });
    assert.equal(r.status, 'completed');
    const got = await client.retrieve(name, { ids: [1, 2, 3, 4], with_payload: true });
    assert.deepEqual(got.map(p => p.id), [1, 2, 3, 4]);
    assert.deepEqual(got[0].payload, { ...points[0].payload, flag: true, group: 99 });
    assert.deepEqual(got[3].payload, points[3].payload);
    for (const p of points.slice(0, 3)) Object.assign(p.payload, { flag: true, group: 99 });
  });

  await t.test('delete by filter and by ids', async () => {
    await client.delete(name, { wait: true, filter: { must: [{ key: 'group', match: { value: 0 } }] } });
    const left = count - points.filter(p => p.payload.group === 0).length;
    assert.deepEqual(await client.count(name, { exact: true }), { count: left });
    await client.delete(name, { wait: true, points: [2, 5] }); // neither is in group 0
    assert.deepEqual(await client.count(name, { exact: true }), { count: left - 2 });
    assert.deepEqual(await client.retrieve(name, { ids: [2, 5] }), []);
  });

  await t.test('errors surface as client errors with the server message', async () => {
    await assert.rejects(
      client.upsert(name, { wait: true, points: [{ id: 1, vector: [1, 2, 3] }] }),
      (err) => err.status === 400 && /dimension/i.test(JSON.stringify(err.data ?? err.message)),
    );
    await assert.rejects(client.getCollection(`${name}_missing`), (err) => err.status === 404);
  });

  await t.test('snapshots: create, list, recover into a new collection, delete', async () => {
    const snapshot = await client.createSnapshot(name, { wait: true });
    assert.match(snapshot.name, /\.snapshot$/);
    assert.match(snapshot.checksum, /^[0-9a-f]{64}$/);
    assert.ok(snapshot.size > 0);
    assert.deepEqual((await client.listSnapshots(name)).map(s => s.name), [snapshot.name]);

    const copy = `${name}_copy`;
    const location = `file://${process.env.QUIVER_SNAPSHOTS_PATH}/${name}/${snapshot.name}`;
    assert.equal(await client.recoverSnapshot(copy, { location, checksum: snapshot.checksum }), true);
    assert.deepEqual(await client.count(copy, { exact: true }), await client.count(name, { exact: true }));
    const ids = [1, 3, 4, 500, 1000];
    assert.deepEqual(await client.retrieve(copy, { ids, with_payload: true, with_vector: true }), await client.retrieve(name, { ids, with_payload: true, with_vector: true }));
    await assert.rejects(client.recoverSnapshot(copy, { location, checksum: '0'.repeat(64) }), (err) => err.status === 400);
    assert.equal(await client.deleteCollection(copy), true);

    assert.equal(await client.deleteSnapshot(name, snapshot.name), true);
    assert.deepEqual(await client.listSnapshots(name), []);
    const full = await client.createFullSnapshot({ wait: true });
    assert.ok((await client.listFullSnapshots()).some(s => s.name === full.name && s.checksum === full.checksum));
    assert.equal(await client.deleteFullSnapshot(full.name), true);
  });

  await t.test('sparse, hybrid, discover, context, order_by, groups and matrix on hand-made points', async () => {
    const hand = `${name}_hand`;
    assert.equal(await client.createCollection(hand, {
      vectors: { d: { size: 2, distance: 'Euclid' } },
      sparse_vectors: { s: { modifier: 'none' } },
    }), true);
    await client.createPayloadIndex(hand, { field_name: 'n', field_schema: 'integer', wait: true });
    const hp = [
      { id: 1, d: [0, 0], s: { indices: [1, 2], values: [1, 2] }, n: 5, g: 'x' },
      { id: 2, d: [1, 0], s: { indices: [2, 3], values: [0.5, 1] }, n: 3, g: 'y' },
      { id: 3, d: [2, 0], s: { indices: [1, 3, 4], values: [1, 3, 1] }, n: 9, g: 'x' },
      { id: 4, d: [3, 0], s: { indices: [5], values: [4] }, n: 1, g: 'y' },
      { id: 7, d: [3, 3], s: { indices: [9], values: [1] }, n: 8, g: 'z' },
    ];
    const r = await client.upsert(hand, { wait: true, points: hp.map(p => ({ id: p.id, vector: { d: p.d, s: p.s }, payload: { n: p.n, g: p.g } })) });
    assert.equal(r.status, 'completed');

    // Sparse: dot over shared dimensions. {1:1, 3:2}: p1 = 1, p2 = 2, p3 = 1 + 6 = 7.
    const sparse = await client.query(hand, { query: { indices: [3, 1], values: [2, 1] }, using: 's' });
    assert.deepEqual(sparse.points.map(p => [p.id, p.score]), [[3, 7], [2, 2], [1, 1]]);
    const got = await client.retrieve(hand, { ids: [3], with_vector: true });
    assert.deepEqual(got[0].vector.s, { indices: [1, 3, 4], values: [1, 3, 1] });

    // Hybrid RRF (k = 2): dense nearest to (0,0) are 1, 2, 3; sparse {3:1} gives 3, 2.
    const hybrid = await client.query(hand, {
      prefetch: [{ query: [0, 0], using: 'd', limit: 3 }, { query: { indices: [3], values: [1] }, using: 's', limit: 3 }],
      query: { fusion: 'rrf' },
    });
    // p3 = 1/4 + 1/2, p2 = 1/3 + 1/3, p1 = 1/2.
    assert.deepEqual(hybrid.points.map(p => p.id), [3, 2, 1]);
    hybrid.points.forEach((p, i) => assert.ok(Math.abs(p.score - [1 / 4 + 1 / 2, 1 / 3 + 1 / 3, 1 / 2][i]) < 1e-6));

    // Context pair (3,0) vs (0,0): 3, 4, 7 are on the positive side (0); 2 loses by 3 -> -0.75; 1 by 9 -> -0.9.
    const context = await client.query(hand, { query: { context: [{ positive: [3, 0], negative: [0, 0] }] }, using: 'd' });
    assert.deepEqual(context.points.map(p => [p.id, Math.round(p.score * 1e4) / 1e4]), [[3, 0], [4, 0], [7, 0], [2, -0.75], [1, -0.9]]);

    // Discover with target (0,3): winners first by closeness to the target (7, 3, 4), then 1 and 2 (the losing side).
    const discover = await client.query(hand, { query: { discover: { target: [0, 3], context: [{ positive: [3, 0], negative: [0, 0] }] } }, using: 'd' });
    assert.deepEqual(discover.points.map(p => p.id), [7, 3, 4, 1, 2]);
    assert.ok(Math.abs(discover.points[0].score - 1.05) < 1e-5);

    const ordered = await client.query(hand, { query: { order_by: { key: 'n', direction: 'desc' } }, limit: 3 });
    assert.deepEqual(ordered.points.map(p => p.id), [3, 7, 1]);

    const groups = await client.queryGroups(hand, { query: [0, 0], using: 'd', group_by: 'g', group_size: 2, limit: 2 });
    assert.deepEqual(groups.groups.map(g => [g.id, g.hits.map(h => h.id)]), [['x', [1, 3]], ['y', [2, 4]]]);

    // Formula over prefetched points: $score (here the Euclid distance) + 0.1·n for the dense top 3 for (0,0):
    // 1, 2, 3 at distances 0, 1, 2 with n = 5, 3, 9.
    const formula = await client.query(hand, {
      prefetch: { query: [0, 0], using: 'd', limit: 3 },
      query: { formula: { sum: ['$score', { mult: [0.1, 'n'] }] } },
    });
    assert.deepEqual(formula.points.map(p => p.id), [3, 2, 1]);
    formula.points.forEach((p, i) => assert.ok(Math.abs(p.score - [2 + 0.9, 1 + 0.3, 0 + 0.5][i]) < 1e-5, `formula score ${p.score}`));

    // Recommend (average_vector): 2·(3,0) - (0,0) = (6,0), examples 4 and 1 left out: 3 at 4, 7 at √18, 2 at 5.
    const recommended = await client.query(hand, { query: { recommend: { positive: [4], negative: [1] } }, using: 'd', limit: 3 });
    assert.deepEqual(recommended.points.map(p => p.id), [3, 7, 2]);
    assert.ok(Math.abs(recommended.points[1].score - Math.sqrt(18)) < 1e-5);

    const sample = await client.query(hand, { query: { sample: 'random' }, limit: 3 });
    assert.equal(new Set(sample.points.map(p => p.id)).size, 3);
    assert.ok(sample.points.every(p => [1, 2, 3, 4, 7].includes(p.id)));

    await client.createPayloadIndex(hand, { field_name: 'g', field_schema: 'keyword', wait: true });
    const facet = await client.facet(hand, { key: 'g' });
    assert.deepEqual(facet.hits.map(h => [h.value, h.count]), [['x', 2], ['y', 2], ['z', 1]]);

    const batch = await client.queryBatch(hand, { searches: [{ query: [0, 0], using: 'd', limit: 1 }, { query: { indices: [5], values: [1] }, using: 's' }] });
    assert.deepEqual(batch.map(r => r.points.map(p => p.id)), [[1], [4]]);

    const matrix = await client.searchMatrixPairs(hand, { sample: 5, limit: 1, using: 'd' });
    const nearest = Object.fromEntries(matrix.pairs.map(p => [p.a, [p.b, p.score]]));
    assert.deepEqual(nearest, { 1: [2, 1], 2: [1, 1], 3: [2, 1], 4: [3, 1], 7: [4, 3] });
    assert.equal(await client.deleteCollection(hand), true);

    // Multivectors (max_sim): late-interaction rescoring of dense candidates.
    const late = `${name}_late`;
    assert.equal(await client.createCollection(late, {
      vectors: { d: { size: 2, distance: 'Dot' }, colbert: { size: 2, distance: 'Dot', multivector_config: { comparator: 'max_sim' } } },
    }), true);
    await client.upsert(late, { wait: true, points: [
      { id: 1, vector: { d: [1, 0], colbert: [[1, 0], [0, 1]] } },
      { id: 2, vector: { d: [0.9, 0], colbert: [[1, 0]] } },
      { id: 3, vector: { d: [0, 1], colbert: [[0.5, 0.5], [0, 1], [-1, 0]] } },
    ] });
    const multi = await client.query(late, { query: [[1, 0], [0, 1]], using: 'colbert' });
    assert.deepEqual(multi.points.map(p => [p.id, p.score]), [[1, 2], [3, 1.5], [2, 1]]);
    const rescored = await client.query(late, { prefetch: { query: [1, 0], using: 'd', limit: 2 }, query: [[0, 1], [0, 1]], using: 'colbert' });
    assert.deepEqual(rescored.points.map(p => [p.id, p.score]), [[1, 2], [2, 0]]);
    assert.deepEqual((await client.retrieve(late, { ids: [3], with_vector: ['colbert'] }))[0].vector.colbert, [[0.5, 0.5], [0, 1], [-1, 0]]);
    assert.equal(await client.deleteCollection(late), true);
  });

  await t.test('delete collection', async () => {
    assert.equal(await client.deleteCollection(name), true);
    assert.deepEqual(await client.collectionExists(name), { exists: false });
  });
});
