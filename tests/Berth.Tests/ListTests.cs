using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core;

namespace Berth.Tests;

public sealed class ListTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private readonly HttpClient _http = server.Http;

    private async Task<(string[] Items, string? Link)> PageAsync(string path, string property)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var items = doc.RootElement.GetProperty(property).EnumerateArray().Select(e => e.GetString()!).ToArray();
        return (items, response.Headers.TryGetValues("Link", out var link) ? link.Single() : null);
    }

    [Fact]
    public async Task TagsArePagedWithLinks()
    {
        var repo = "lists/tags";
        var (json, _) = await _http.PushImageAsync(repo, "c");
        foreach (var tag in new[] { "a", "d", "b" }) using (await _http.PutManifestAsync(repo, tag, json, MediaTypes.OciManifest)) { }

        var (all, noLink) = await PageAsync($"/v2/{repo}/tags/list", "tags");
        Assert.Equal(["a", "b", "c", "d"], all);
        Assert.Null(noLink);

        var (first, link) = await PageAsync($"/v2/{repo}/tags/list?n=2", "tags");
        Assert.Equal(["a", "b"], first);
        Assert.Equal($"</v2/{repo}/tags/list?n=2&last=b>; rel=\"next\"", link);
        var (second, last) = await PageAsync($"/v2/{repo}/tags/list?n=2&last=b", "tags");
        Assert.Equal(["c", "d"], second);
        Assert.Null(last);
        var (empty, _) = await PageAsync($"/v2/{repo}/tags/list?n=0", "tags");
        Assert.Empty(empty);
    }

    [Fact]
    public async Task TagsOfAnUnknownRepositoryAre404()
    {
        using var response = await _http.GetAsync("/v2/lists/nothing/tags/list");
        await response.AssertErrorAsync(404, "NAME_UNKNOWN");
    }

    [Fact]
    public async Task AnInvalidPageSizeIs400()
    {
        await _http.PushBlobAsync("lists/n", [1]);
        using var response = await _http.GetAsync("/v2/lists/n/tags/list?n=-1");
        await response.AssertErrorAsync(400, "PAGINATION_NUMBER_INVALID");
        using var catalog = await _http.GetAsync("/v2/_catalog?n=abc");
        await catalog.AssertErrorAsync(400, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task TheCatalogListsRepositoriesInPages()
    {
        foreach (var repo in new[] { "catalog/b", "catalog/a", "catalog/c" }) await _http.PushBlobAsync(repo, [1]);
        var (all, _) = await PageAsync("/v2/_catalog", "repositories");
        var ours = all.Where(r => r.StartsWith("catalog/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["catalog/a", "catalog/b", "catalog/c"], ours);
        var (page, link) = await PageAsync("/v2/_catalog?n=1&last=catalog/a", "repositories");
        Assert.Equal(["catalog/b"], page);
        Assert.Equal("</v2/_catalog?n=1&last=catalog%2Fb>; rel=\"next\"", link);
    }

    [Fact]
    public async Task ReferrersListManifestsThatPointAtASubject()
    {
        var repo = "lists/referrers";
        var (_, subject) = await _http.PushImageAsync(repo, "1.0");
        await _http.PushBlobAsync(repo, Encoding.UTF8.GetBytes("{}"));
        var pushed = new Dictionary<string, string>();
        foreach (var type in new[] { "application/vnd.example.sbom", "application/vnd.example.signature" })
        {
            var layer = await _http.PushBlobAsync(repo, Encoding.UTF8.GetBytes(type));
            var json = $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","artifactType":"{{{type}}}","config":{"mediaType":"{{{MediaTypes.OciEmpty}}}","digest":"{{{Api.EmptyConfigDigest}}}","size":2},"layers":[{"mediaType":"text/plain","digest":"{{{layer}}}","size":{{{type.Length}}}}],"subject":{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{subject}}}","size":1},"annotations":{"org.example.kind":"{{{type}}}"}}""";
            var digest = Api.DigestOf(Encoding.UTF8.GetBytes(json));
            using var put = await _http.PutManifestAsync(repo, digest, json, MediaTypes.OciManifest);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            pushed[type] = digest;
        }

        using var all = await _http.GetAsync($"/v2/{repo}/referrers/{subject}");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(MediaTypes.OciIndex, all.Content.Headers.ContentType!.MediaType);
        Assert.False(all.Headers.Contains("OCI-Filters-Applied"));
        using var doc = JsonDocument.Parse(await all.Content.ReadAsStringAsync());
        Assert.Equal(2, doc.RootElement.GetProperty("schemaVersion").GetInt32());
        var manifests = doc.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(2, manifests.Count);
        foreach (var m in manifests)
        {
            var type = m.GetProperty("artifactType").GetString()!;
            Assert.Equal(pushed[type], m.GetProperty("digest").GetString());
            Assert.Equal(type, m.GetProperty("annotations").GetProperty("org.example.kind").GetString());
            Assert.Equal(MediaTypes.OciManifest, m.GetProperty("mediaType").GetString());
            Assert.True(m.GetProperty("size").GetInt64() > 0);
        }

        using var filtered = await _http.GetAsync($"/v2/{repo}/referrers/{subject}?artifactType=application/vnd.example.signature");
        Assert.Equal("artifactType", filtered.Header("OCI-Filters-Applied"));
        using var fdoc = JsonDocument.Parse(await filtered.Content.ReadAsStringAsync());
        var only = Assert.Single(fdoc.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(pushed["application/vnd.example.signature"], only.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task ReferrersOfAnUnknownDigestAreAnEmptyIndex()
    {
        using var response = await _http.GetAsync($"/v2/lists/none/referrers/{Api.DigestOf([7])}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, doc.RootElement.GetProperty("manifests").GetArrayLength());
    }
}
