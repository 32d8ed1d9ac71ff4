using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Security;

/// <summary>A server on TLS with a self-signed certificate made here, and an API key.</summary>
public sealed class TlsFixture() : ConfiguredServerFixture(
    "service:\n  enable_tls: true\n  api_key: \"tls-key-5150\"\ntls:\n  cert: \"{folder}/cert.pem\"\n  key: \"{folder}/key.pem\"\n  cert_ttl: 1\n", https: true)
{
    public const string Key = "tls-key-5150";

    public string CertPath => Path.Combine(Folder, "cert.pem");

    public X509Certificate2 First { get; private set; } = null!;

    protected override async Task PrepareAsync() => First = await WriteCertificateAsync("quiver-test-1");

    /// <summary>A self-signed certificate for 127.0.0.1 and localhost, written as cert.pem and key.pem (replacing any).</summary>
    public async Task<X509Certificate2> WriteCertificateAsync(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // Key first, then certificate: a reader between the two writes sees a mismatched pair and keeps the old one.
        await File.WriteAllTextAsync(Path.Combine(Folder, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(CertPath, certificate.ExportCertificatePem());
        return certificate;
    }
}

public sealed class TlsTests(TlsFixture fixture, ITestOutputHelper output) : IClassFixture<TlsFixture>
{
    [Fact]
    public async Task Tls_serves_the_configured_certificate_and_picks_up_a_rotated_one()
    {
        Assert.Equal(fixture.First.Thumbprint, await ServedThumbprintAsync());

        // Plain HTTP to the TLS port gets nothing useful.
        using (var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            var plainUri = new Uri($"http://127.0.0.1:{fixture.Server.Port}/collections");
            var refused = await Record.ExceptionAsync(async () =>
            {
                using var response = await plain.GetAsync(plainUri);
                Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
            });
            Assert.True(refused is null or HttpRequestException, $"{refused}");
        }

        var second = await fixture.WriteCertificateAsync("quiver-test-2");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await ServedThumbprintAsync() != second.Thumbprint)
        {
            Assert.True(DateTime.UtcNow < deadline, "the rotated certificate was not picked up");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task The_official_js_client_works_over_tls_with_an_api_key()
    {
        Assert.Equal("https", fixture.Server.BaseAddress.Scheme);
        // Node trusts the self-signed certificate as an extra CA (the other test may have rotated it: use the file).
        await JsClientScenario.RunAsync(fixture.Server, output, TlsFixture.Key, fixture.CertPath);
    }

    [Fact]
    public async Task The_official_dotnet_client_works_over_grpc_with_tls_and_an_api_key()
    {
        // The client pins the server certificate by thumbprint (the other test may have rotated it: read the file).
        using var served = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(fixture.CertPath));
        using var channel = Qdrant.Client.Grpc.QdrantChannel.ForAddress($"https://127.0.0.1:{fixture.Server.GrpcPort}",
            new Qdrant.Client.ClientConfiguration { ApiKey = TlsFixture.Key, CertificateThumbprint = served.GetCertHashString(HashAlgorithmName.SHA256) });
        using var client = new Qdrant.Client.QdrantClient(new Qdrant.Client.Grpc.QdrantGrpcClient(channel));
        Assert.Equal("quiver - vector search engine", (await client.HealthAsync()).Title);
        await client.CreateCollectionAsync("tls_grpc", new Qdrant.Client.Grpc.VectorParams { Size = 2, Distance = Qdrant.Client.Grpc.Distance.Dot });
        await client.UpsertAsync("tls_grpc", [new Qdrant.Client.Grpc.PointStruct { Id = 7, Vectors = new[] { 1f, 0f } }]);
        Assert.Equal(7UL, Assert.Single(await client.QueryAsync("tls_grpc", query: new[] { 1f, 0f })).Id.Num);

        // Without TLS the gRPC port gives nothing.
        using var plain = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: TlsFixture.Key);
        await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => plain.HealthAsync());
    }

    /// <summary>The thumbprint of the certificate a fresh TLS connection is served (the request carries the key).</summary>
    private async Task<string> ServedThumbprintAsync()
    {
        string? served = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                served = certificate?.Thumbprint;
                return true;
            },
        };
        using var http = new HttpClient(handler) { BaseAddress = fixture.Server.BaseAddress };
        var (status, _) = await http.SendAsync("GET", "/collections", null, TlsFixture.Key);
        Assert.Equal(HttpStatusCode.OK, status);
        return served ?? throw new InvalidOperationException("no certificate seen");
    }
}
