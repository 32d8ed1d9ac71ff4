using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>A vector's <c>datatype</c> over REST: accepted and echoed, values rounded on insert, out-of-range values refused.</summary>
[Collection(ServerCollection.Name)]
public sealed class DatatypeRestTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    [Fact]
    public async Task Float16_and_uint8_vectors_store_rounded_values_and_refuse_what_they_cannot_hold()
    {
        var name = await Api.CreateRawAsync(_client, "datatype", """{"vectors":{"h":{"size":3,"distance":"Euclid","datatype":"float16"},"b":{"size":3,"distance":"Dot","datatype":"uint8"},"f":{"size":3,"distance":"Cosine","datatype":"float32"}}}""");
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        var vectors = info["config"]!["params"]!["vectors"]!;
        Assert.Equal("float16", vectors["h"]!["datatype"]!.GetValue<string>());
        Assert.Equal("uint8", vectors["b"]!["datatype"]!.GetValue<string>());

        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"h":[0.1,1000.3,-3e-6],"b":[0,17,255],"f":[1,0,0]}}]""");
        var point = Api.Ok(await _client.GetAsync($"/collections/{name}/points/1")).Result;
        Assert.Equal([(float)(Half)0.1f, (float)(Half)1000.3f, (float)(Half)(-3e-6f)], point["vector"]!["h"]!.AsArray().Select(v => v!.GetValue<float>()));
        Assert.Equal([0f, 17f, 255f], point["vector"]!["b"]!.AsArray().Select(v => v!.GetValue<float>()));

        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":{"h":[1,2,70000],"b":[1,2,3],"f":[1,0,0]}}]}"""), HttpStatusCode.BadRequest, "float16");
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":{"h":[1,2,3],"b":[1,2,256],"f":[1,0,0]}}]}"""), HttpStatusCode.BadRequest, "uint8", "0 to 255");
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":{"h":[1,2,3],"b":[1,2.5,3],"f":[1,0,0]}}]}"""), HttpStatusCode.BadRequest, "uint8");
        Assert.Equal(1, await Api.CountAsync(_client, name));

        // Scores are over the stored values: [0, 17, 255] . [1, 1, 1] = 272.
        var hits = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,1,1],"using":"b","limit":1}""")).Result["points"]!.AsArray();
        Assert.Equal(272f, hits[0]!["score"]!.GetValue<float>());

        Api.Error(await _client.PutAsync($"/collections/{ServerFixture.UniqueName("datatype")}", """{"vectors":{"size":3,"distance":"Cosine","datatype":"uint8"}}"""), HttpStatusCode.BadRequest, "vectors.datatype", "Cosine");
    }
}
