using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Quiver.Server.Security;

/// <summary>
/// <c>service.verify_https_client_certificate</c>: a client must present a certificate that chains to one of the CA
/// certificates in <c>tls.ca_cert</c> (only those: the machine's roots are not trusted for clients) and is valid now.
/// </summary>
internal sealed class ClientCertificateCheck
{
    private readonly X509Certificate2Collection _authorities = [];

    /// <exception cref="InvalidOperationException">The CA file cannot be read or holds no certificate.</exception>
    public ClientCertificateCheck(string caPath)
    {
        try
        {
            _authorities.ImportFromPemFile(caPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"Invalid configuration: tls.ca_cert ({caPath}) cannot be loaded: {ex.Message}", ex);
        }

        if (_authorities.Count == 0)
            throw new InvalidOperationException($"Invalid configuration: tls.ca_cert ({caPath}) holds no certificate");
    }

    public bool Validate(X509Certificate? certificate)
    {
        if (certificate is null)
            return false;
        // The handshake owns the certificate it passes in: only a copy made here is disposed here.
        using var copy = certificate is X509Certificate2 ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var presented = copy ?? (X509Certificate2)certificate;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        return chain.Build(presented);
    }

    /// <summary>The handshake options' part: ask for a certificate and accept only those this check accepts.</summary>
    public void Apply(SslServerAuthenticationOptions options)
    {
        options.ClientCertificateRequired = true;
        options.RemoteCertificateValidationCallback = (_, certificate, _, _) => Validate(certificate);
    }
}
