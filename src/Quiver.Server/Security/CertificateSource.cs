using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Quiver.Server.Security;

/// <summary>
/// The server certificate from PEM files (<c>tls.cert</c>, <c>tls.key</c>), re-read when either file changes (checked
/// at most every <c>tls.cert_ttl</c> seconds, on a new TLS handshake), so a rotated certificate is served without a
/// restart. A file that cannot be read meanwhile (half-written) leaves the current certificate in use.
/// </summary>
internal sealed class CertificateSource
{
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly TimeSpan _checkEvery;
    private readonly Lock _lock = new();
    private SslStreamCertificateContext _current;
    private (DateTime Cert, DateTime Key) _stamps;
    private DateTime _nextCheck;

    /// <exception cref="InvalidOperationException">The files cannot be read as a certificate and its private key.</exception>
    public CertificateSource(string certPath, string keyPath, TimeSpan checkEvery)
    {
        _certPath = Path.GetFullPath(certPath);
        _keyPath = Path.GetFullPath(keyPath);
        _checkEvery = checkEvery;
        _stamps = Stamps();
        _current = Load(_certPath, _keyPath);
        _nextCheck = DateTime.UtcNow + _checkEvery;
    }

    /// <summary>The certificate with the intermediates that followed it in the PEM file, sent in every handshake.</summary>
    public SslStreamCertificateContext Current
    {
        get
        {
            if (DateTime.UtcNow < _nextCheck)
                return _current;
            lock (_lock)
            {
                if (DateTime.UtcNow < _nextCheck)
                    return _current;
                _nextCheck = DateTime.UtcNow + _checkEvery;
                try
                {
                    var stamps = Stamps();
                    if (stamps != _stamps)
                    {
                        _current = Load(_certPath, _keyPath);
                        _stamps = stamps;
                    }
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
                {
                    // Mid-rotation (one file written, not the other) or briefly unreadable: keep serving the old one,
                    // look again later; a handshake never fails for it.
                }

                return _current;
            }
        }
    }

    private (DateTime Cert, DateTime Key) Stamps() => (File.GetLastWriteTimeUtc(_certPath), File.GetLastWriteTimeUtc(_keyPath));

    private static SslStreamCertificateContext Load(string certPath, string keyPath)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            // Exported and re-imported: SslStream on Linux needs a certificate whose key is not ephemeral.
            var leaf = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            // A full-chain file: the certificates after the first are intermediates, sent so clients can build the chain.
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(certPath);
            var intermediates = new X509Certificate2Collection();
            foreach (var certificate in chain)
            {
                if (certificate.Thumbprint != leaf.Thumbprint)
                    intermediates.Add(certificate);
            }

            return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"Invalid configuration: tls.cert / tls.key ({certPath}, {keyPath}) cannot be loaded: {ex.Message}", ex);
        }
    }
}
