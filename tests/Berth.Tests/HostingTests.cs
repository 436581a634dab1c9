using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Configuration;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>What the host adds around the API: the access log's line, and the HTTPS port's answer to plain HTTP.</summary>
public sealed class HostingTests
{
    private sealed class AccessLogServer : RegistryServer
    {
        protected override BerthOptions Configure(BerthOptions options) =>
            options with { AccessLog = true, LogLevel = Microsoft.Extensions.Logging.LogLevel.Information };
    }

    [Fact]
    public async Task The_access_log_line_shows_the_status_and_no_other_number_before_it()
    {
        // The console logger takes Console.Out when it is built; other servers started meanwhile write here too, harmlessly.
        var captured = new StringWriter();
        var original = Console.Out;
        var server = new AccessLogServer();
        Console.SetOut(TextWriter.Synchronized(captured));
        try
        {
            await server.InitializeAsync();
        }
        finally
        {
            Console.SetOut(original);
        }
        try
        {
            using (var r = await server.Client.GetAsync("/v2/log/missing/manifests/latest"))
            {
                Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            }
            string? line = null;
            for (var attempt = 0; attempt < 50 && line is null; attempt++)
            {
                await Task.Delay(100);
                line = captured.ToString().Split('\n').FirstOrDefault(l => l.Contains("/v2/log/missing/manifests/latest"));
            }
            Assert.NotNull(line);
            Assert.Matches(@"info: access GET /v2/log/missing/manifests/latest 404 [0-9.]+ms 127\.0\.0\.1", line);
            Assert.DoesNotMatch(@"\[\d+\]", line);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private sealed class TlsServer : RegistryServer
    {
        protected override BerthOptions Configure(BerthOptions options)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certPath = Path.Combine(DataDirectory, "tls.crt");
            var keyPath = Path.Combine(DataDirectory, "tls.key");
            File.WriteAllText(certPath, certificate.ExportCertificatePem());
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            return options with { TlsCert = certPath, TlsKey = keyPath };
        }
    }

    [Fact]
    public async Task Plain_HTTP_on_the_HTTPS_port_gets_a_400_saying_to_use_https_and_HTTPS_still_works()
    {
        var server = new TlsServer();
        await server.InitializeAsync();
        try
        {
            var address = server.Client.BaseAddress;
            Assert.Equal("https", address.Scheme);
            using (var tcp = new TcpClient())
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await tcp.ConnectAsync(address.Host, address.Port, cts.Token);
                var stream = tcp.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /v2/ HTTP/1.1\r\nHost: {address.Authority}\r\n\r\n"), cts.Token);
                var received = new MemoryStream();
                await stream.CopyToAsync(received, cts.Token);
                var text = Encoding.UTF8.GetString(received.ToArray());
                Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", text);
                Assert.Contains("use https://", text);
            }

            using var https = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            });
            using var ok = await https.GetAsync(new Uri(address, "/v2/"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
