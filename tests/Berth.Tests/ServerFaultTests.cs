using System.Net;
using System.Text.Json;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>A fault of the server itself still gets the spec's error body, and no internals.</summary>
public sealed class ServerFaultTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    [Fact]
    public async Task A_damaged_store_is_a_500_with_an_UNKNOWN_error_body()
    {
        var image = await server.Client.PushImageAsync("faults/app");
        var hex = image.Digest["sha256:".Length..];
        // Damage behind the registry's back: the manifest's file is shorter than its recorded size.
        File.WriteAllBytes(Path.Combine(server.DataDirectory, "blobs", "sha256", hex[..2], hex), [(byte)'{']);

        // A plain client: the suite's own client fails any test that sees a 5xx, which is the point here.
        using var http = new HttpClient();
        using var response = await http.GetAsync(server.Client.Url($"/v2/faults/app/manifests/{image.Digest}"));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(body);
        Assert.Equal("UNKNOWN", doc.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain(server.DataDirectory, body, StringComparison.Ordinal);
    }
}
