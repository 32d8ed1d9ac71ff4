using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Security;

/// <summary>A TLS server that requires client certificates issued by a CA made here.</summary>
public sealed class ClientCertificateFixture() : ConfiguredServerFixture(
    "service:\n  enable_tls: true\n  verify_https_client_certificate: true\ntls:\n  cert: \"{folder}/server.pem\"\n  key: \"{folder}/server.key\"\n  ca_cert: \"{folder}/ca.pem\"\n", https: true)
{
    public X509Certificate2 Client { get; private set; } = null!;

    public X509Certificate2 Rogue { get; private set; } = null!;

    public X509Certificate2 Expired { get; private set; } = null!;

    protected override X509Certificate2? ReadinessCertificate => Client;

    protected override async Task PrepareAsync()
    {
        using var ca = Authority("quiver-test-ca", out var caKey);
        using var rogueCa = Authority("rogue-ca", out var rogueKey);
        Client = Issue("client", ca, caKey, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        Rogue = Issue("rogue", rogueCa, rogueKey, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        Expired = Issue("expired", ca, caKey, DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));
        await File.WriteAllTextAsync(Path.Combine(Folder, "ca.pem"), ca.ExportCertificatePem());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=quiver-server", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var server = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        await File.WriteAllTextAsync(Path.Combine(Folder, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(Folder, "server.pem"), server.ExportCertificatePem());
        caKey.Dispose();
        rogueKey.Dispose();
    }

    private static X509Certificate2 Authority(string name, out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 Issue(string name, X509Certificate2 issuer, ECDsa issuerKey, DateTimeOffset from, DateTimeOffset until)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(8);
        using var issued = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), from, until, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12 so the key is usable by SslStream on Linux.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}

public sealed class ClientCertificateTests(ClientCertificateFixture fixture) : IClassFixture<ClientCertificateFixture>
{
    [Fact]
    public async Task Only_clients_with_a_valid_certificate_from_the_configured_ca_get_in()
    {
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(fixture.Client));
        Assert.Null(await StatusAsync(null));
        Assert.Null(await StatusAsync(fixture.Rogue));
        Assert.Null(await StatusAsync(fixture.Expired));
    }

    /// <summary>The status of GET /collections over a fresh connection, or null when the handshake was refused.</summary>
    private async Task<HttpStatusCode?> StatusAsync(X509Certificate2? certificate)
    {
#pragma warning disable CA5400 // The test's server certificate is self-signed; the point here is the client's.
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
#pragma warning restore CA5400
        if (certificate is not null)
            handler.ClientCertificates.Add(certificate);
        using var http = new HttpClient(handler) { BaseAddress = fixture.Server.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
        try
        {
            using var response = await http.GetAsync(new Uri("/collections", UriKind.Relative));
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
