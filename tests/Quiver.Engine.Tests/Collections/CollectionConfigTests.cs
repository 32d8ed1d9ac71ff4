using System.Text.Json;
using Quiver.Engine.Collections;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Tests.Collections;

public sealed class CollectionConfigTests
{
    private static CollectionConfig Create(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return CollectionConfig.FromCreateRequest(doc.RootElement);
    }

    [Fact]
    public void Single_unnamed_vector_with_defaults()
    {
        var config = Create("""{"vectors":{"size":4,"distance":"Euclid"}}""");
        Assert.True(config.HasUnnamedVector);
        var space = Assert.Single(config.VectorSpaces);
        Assert.Equal(("", 4, Distance.Euclid), (space.Name, space.Dimension, space.Distance));
        Assert.Equal(1, config.ShardNumber);
        Assert.Equal(16, config.Json["hnsw_config"]!["m"]!.GetValue<int>());
        Assert.Equal(10000, config.Json["optimizer_config"]!["indexing_threshold"]!.GetValue<int>());
    }

    [Fact]
    public void Named_vectors_and_overrides()
    {
        var config = Create("""{"vectors":{"image":{"size":3,"distance":"Dot"},"text":{"size":5,"distance":"Manhattan"}},"shard_number":3,"hnsw_config":{"m":32}}""");
        Assert.False(config.HasUnnamedVector);
        Assert.Equal(["image", "text"], config.VectorSpaces.Select(s => s.Name));
        Assert.Equal(Distance.Manhattan, config.FindSpace("text")!.Distance);
        Assert.Equal(3, config.ShardNumber);
        Assert.Equal(32, config.Json["hnsw_config"]!["m"]!.GetValue<int>());
        Assert.Equal(100, config.Json["hnsw_config"]!["ef_construct"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{"vectors":{"size":0,"distance":"Dot"}}""", "vectors.size")]
    [InlineData("""{"vectors":{"size":4,"distance":"Hamming"}}""", "vectors.distance")]
    [InlineData("""{"vectors":{"size":4}}""", "vectors.distance")]
    [InlineData("""{"vectors":{"a":{"size":"4","distance":"Dot"}}}""", "vectors.a.size")]
    [InlineData("""{"vectors":{"size":4,"distance":"Dot","datatype":"int4"}}""", "vectors.datatype")]
    [InlineData("""{"vectors":{"v":{"size":4,"distance":"Cosine","datatype":"uint8"}}}""", "vectors.v.datatype")]
    [InlineData("""{"vectors":{"size":4,"distance":"Dot"},"shard_number":0}""", "shard_number")]
    [InlineData("""{"vectors":[1,2]}""", "vectors")]
    [InlineData("""{"vectors":{"size":4,"distance":"Dot"},"hnsw_config":{"m":513}}""", "hnsw_config.m")]
    [InlineData("""{"vectors":{"a":{"size":4,"distance":"Dot","hnsw_config":{"payload_m":1000}}}}""", "vectors.a.hnsw_config.payload_m")]
    public void Invalid_configs_name_the_field(string json, string field)
    {
        var ex = Assert.Throws<QuiverException>(() => Create(json));
        Assert.Equal(ErrorKind.BadInput, ex.Error.Kind);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_merges_diffs_and_refuses_to_change_size()
    {
        var config = Create("""{"vectors":{"size":4,"distance":"Dot"}}""");
        using var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":20000},"params":{"replication_factor":2},"vectors":{"":{"on_disk":true}}}""");
        var updated = config.ApplyUpdate(patch.RootElement);
        Assert.Equal(20000, updated.Json["optimizer_config"]!["indexing_threshold"]!.GetValue<int>());
        Assert.Equal(5, updated.Json["optimizer_config"]!["flush_interval_sec"]!.GetValue<int>());
        Assert.Equal(2, updated.Json["params"]!["replication_factor"]!.GetValue<int>());
        Assert.True(updated.Json["params"]!["vectors"]!["on_disk"]!.GetValue<bool>());
        Assert.Equal(10000, config.Json["optimizer_config"]!["indexing_threshold"]!.GetValue<int>());

        using var bad = JsonDocument.Parse("""{"vectors":{"":{"size":8}}}""");
        Assert.Throws<QuiverException>(() => config.ApplyUpdate(bad.RootElement));
        using var missing = JsonDocument.Parse("""{"vectors":{"nope":{"on_disk":true}}}""");
        Assert.Contains("nope", Assert.Throws<QuiverException>(() => config.ApplyUpdate(missing.RootElement)).Message, StringComparison.Ordinal);
    }
}
