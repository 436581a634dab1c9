using System.Net;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>The probes: no authentication, no detail, and readiness that follows the backends.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Both_probes_answer_without_credentials_while_authentication_is_on()
    {
        var server = new Access.AuthServer();
        await server.InitializeAsync();
        try
        {
            await ProbeAsync(server);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task ProbeAsync(RegistryServer server)
    {
        using (var v2 = await server.Client.GetAsync("/v2/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, v2.StatusCode);
        }
        foreach (var (path, text) in new[] { ("/healthz", "ok\n"), ("/readyz", "ready\n") })
        {
            using var r = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(text, await r.Content.ReadAsStringAsync());
            Assert.Equal("no-store", r.Headers.CacheControl?.ToString());
            using var head = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(server.Client.BaseAddress, path)));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }
    }
}
