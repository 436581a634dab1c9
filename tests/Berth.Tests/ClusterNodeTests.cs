using System.Net;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>The server end to end as a node of a cluster: metadata on a real PostgreSQL, blobs on a real radosgw.</summary>
public sealed class ClusterNodeTests(ClusterNodeServer server) : IClassFixture<ClusterNodeServer>
{
    private RegistryClient Registry => server.Client;

    [Fact]
    public async Task An_image_pushes_lists_pulls_and_deletes()
    {
        var image = await Registry.PushImageAsync("cluster/app", "1.0");
        await Registry.PushManifestAsync("cluster/app", "prod", image.MediaType, image.Manifest);
        using (var tags = await Registry.GetAsync("/v2/cluster/app/tags/list"))
        {
            Assert.Equal(["1.0", "prod"], (await tags.JsonAsync()).GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        }
        using (var catalog = await Registry.GetAsync("/v2/_catalog?n=1000"))
        {
            Assert.Contains("cluster/app", (await catalog.JsonAsync()).GetProperty("repositories").EnumerateArray().Select(r => r.GetString()));
        }
        using (var manifest = await Registry.GetAsync("/v2/cluster/app/manifests/prod", image.MediaType))
        {
            Assert.Equal(image.Digest, manifest.Header("Docker-Content-Digest"));
            Assert.Equal(image.Manifest, await manifest.BytesAsync());
        }
        var range = new HttpRequestMessage(HttpMethod.Get, new Uri(Registry.BaseAddress, $"/v2/cluster/app/blobs/{image.Layer.Digest}"));
        range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(10, 19);
        using (var part = await Registry.SendAsync(range))
        {
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            Assert.Equal(image.Layer.Content[10..20], await part.BytesAsync());
        }
        using (var delete = await Registry.DeleteAsync("/v2/cluster/app/manifests/prod"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        using var gone = await Registry.GetAsync("/v2/cluster/app/manifests/prod", image.MediaType);
        await gone.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task Readiness_follows_the_database()
    {
        var node = new ClusterNodeServer();
        await node.InitializeAsync();
        try
        {
            // A plain client: the test client fails any 5xx, and a 503 is the answer wanted here.
            using var http = new HttpClient { BaseAddress = node.Client.BaseAddress };
            using (var ready = await http.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }
            // The database goes away under the running node: it is alive, but not ready.
            await node.Database.DisposeAsync();
            using (var notReady = await http.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
                Assert.Equal("not ready: metadata unreachable\n", await notReady.Content.ReadAsStringAsync());
            }
            using var live = await http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
