using System.Net;
using System.Text.Json;
using Berth.Tests.Access;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>sam (private sam/hidden-tool; public sam/tool with a description, sam/toolbox) and tess, who owns nothing.</summary>
public sealed class SearchServer : AuthServer
{
    public override async Task InitializeAsync()
    {
        await StartAsync();
        using var admin = Admin();
        foreach (var u in new[] { "sam", "tess" })
        {
            await ApiAsync(admin, HttpMethod.Post, "users", $$"""{"name":"{{u}}","password":"{{u}}-password"}""", HttpStatusCode.Created);
        }
        using var sam = As("sam", "sam-password");
        foreach (var name in new[] { "sam/tool", "sam/toolbox", "sam/hidden-tool" }) await sam.PushImageAsync(name, "1");
        await ApiAsync(sam, HttpMethod.Put, "repositories/sam/tool", """{"visibility":"public","description":"A tool for builds"}""", HttpStatusCode.NoContent);
        await ApiAsync(sam, HttpMethod.Put, "repositories/sam/toolbox", """{"visibility":"public"}""", HttpStatusCode.NoContent);
        await ApiAsync(sam, HttpMethod.Put, "repositories/sam/hidden-tool", """{"description":"secret tool"}""", HttpStatusCode.NoContent);
    }
}

/// <summary>
/// Search over HTTP with authentication on: /v1/search in the shape docker and podman read, ranked and paged, never showing
/// or counting a private repository to someone who may not pull it; stars and official marks through the management API.
/// Each test undoes the stars and marks it makes.
/// </summary>
public sealed class SearchApiTests(SearchServer server) : IClassFixture<SearchServer>
{
    private static async Task<JsonElement> SearchAsync(RegistryClient client, string query)
    {
        using var r = await client.GetAsync("/v1/search?" + query);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static List<string> Names(JsonElement found) => found.GetProperty("results").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();

    [Fact]
    public async Task DockerSearchAnswersInDockersShapeRankedAndPaged()
    {
        using var tess = server.As("tess", "tess-password");
        await AuthServer.ApiAsync(tess, HttpMethod.Put, "repositories/sam/toolbox/star", null, HttpStatusCode.NoContent);
        using var anonymous = server.NewClient();
        var found = await SearchAsync(anonymous, "q=tool&n=1");
        Assert.Equal(["num_results", "num_pages", "page", "page_size", "query", "results"], found.EnumerateObject().Select(p => p.Name));
        Assert.Equal((2, 2, 1, 1, "tool"), (found.GetProperty("num_results").GetInt32(), found.GetProperty("num_pages").GetInt32(),
            found.GetProperty("page").GetInt32(), found.GetProperty("page_size").GetInt32(), found.GetProperty("query").GetString()));
        var first = Assert.Single(found.GetProperty("results").EnumerateArray());
        Assert.Equal(["name", "description", "is_official", "star_count", "is_automated"], first.EnumerateObject().Select(p => p.Name));
        // The starred one leads; the second page has the other; a page past the end is empty but still counts.
        Assert.Equal(("sam/toolbox", 1, false, ""), (first.GetProperty("name").GetString(), first.GetProperty("star_count").GetInt32(),
            first.GetProperty("is_official").GetBoolean(), first.GetProperty("description").GetString()));
        Assert.Equal(["sam/tool"], Names(await SearchAsync(anonymous, "q=tool&n=1&page=2")));
        var past = await SearchAsync(anonymous, "q=tool&n=1&page=9");
        Assert.Equal((0, 2), (past.GetProperty("results").GetArrayLength(), past.GetProperty("num_results").GetInt32()));
        // The exact name first.
        Assert.Equal(["sam/tool", "sam/toolbox"], Names(await SearchAsync(anonymous, "q=sam/tool")));
        using var bad = await anonymous.GetAsync("/v1/search?q=tool&page=0");
        await bad.AssertErrorAsync(HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
        await AuthServer.ApiAsync(tess, HttpMethod.Delete, "repositories/sam/toolbox/star", null, HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task APrivateRepositoryIsNeitherFoundNorCountedExceptByThoseWhoMayPullIt()
    {
        using var anonymous = server.NewClient();
        using var tess = server.As("tess", "tess-password");
        using var sam = server.As("sam", "sam-password");
        foreach (var stranger in new[] { anonymous, tess })
        {
            var found = await SearchAsync(stranger, "q=secret");
            Assert.Equal((0, 0), (found.GetProperty("num_results").GetInt32(), found.GetProperty("results").GetArrayLength()));
            Assert.Equal(["sam/tool", "sam/toolbox"], Names(await SearchAsync(stranger, "q=sam")));
            Assert.Empty(Names(await SearchAsync(stranger, "q=sam/hidden-tool")));
        }
        Assert.Equal(["sam/hidden-tool"], Names(await SearchAsync(sam, "q=secret")));
        Assert.Equal(3, (await SearchAsync(sam, "q=sam")).GetProperty("num_results").GetInt32());
        // A stranger cannot star what it cannot see, and learns nothing from trying.
        var hidden = await AuthServer.ApiAsync(tess, HttpMethod.Put, "repositories/sam/hidden-tool/star", null, HttpStatusCode.NotFound);
        var missing = await AuthServer.ApiAsync(tess, HttpMethod.Put, "repositories/sam/no-such/star", null, HttpStatusCode.NotFound);
        Assert.Equal(RequestIds.Masked(missing.ToString()!), RequestIds.Masked(hidden.ToString()!));
        await AuthServer.ApiAsync(anonymous, HttpMethod.Put, "repositories/sam/tool/star", null, HttpStatusCode.Unauthorized);
        // sam's stars: tess sees only those she may pull.
        await AuthServer.ApiAsync(sam, HttpMethod.Put, "repositories/sam/hidden-tool/star", null, HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(sam, HttpMethod.Put, "repositories/sam/tool/star", null, HttpStatusCode.NoContent);
        var own = await AuthServer.ApiAsync(sam, HttpMethod.Get, "users/sam/starred");
        Assert.Equal(["sam/hidden-tool", "sam/tool"], own!.Value.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        var seen = await AuthServer.ApiAsync(tess, HttpMethod.Get, "users/sam/starred");
        var entry = Assert.Single(seen!.Value.EnumerateArray());
        Assert.Equal(("sam/tool", 1), (entry.GetProperty("name").GetString(), entry.GetProperty("stars").GetInt32()));
        await AuthServer.ApiAsync(sam, HttpMethod.Delete, "repositories/sam/hidden-tool/star", null, HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(sam, HttpMethod.Delete, "repositories/sam/tool/star", null, HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task SiteAdministratorsMarkNamespacesAndRepositoriesOfficial()
    {
        using var admin = server.Admin();
        using var sam = server.As("sam", "sam-password");
        using var anonymous = server.NewClient();
        await AuthServer.ApiAsync(sam, HttpMethod.Put, "namespaces/sam/official", null, HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(admin, HttpMethod.Put, "repositories/sam/tool/official", null, HttpStatusCode.NoContent);
        var found = await SearchAsync(anonymous, "q=toolbox");
        Assert.False(found.GetProperty("results")[0].GetProperty("is_official").GetBoolean());
        Assert.True((await SearchAsync(anonymous, "q=tool")).GetProperty("results")[0].GetProperty("is_official").GetBoolean());

        await AuthServer.ApiAsync(admin, HttpMethod.Put, "namespaces/sam/official", null, HttpStatusCode.NoContent);
        Assert.True((await SearchAsync(anonymous, "q=toolbox")).GetProperty("results")[0].GetProperty("is_official").GetBoolean());
        var marks = await AuthServer.ApiAsync(admin, HttpMethod.Get, "official");
        Assert.Equal(["sam", "sam/tool"], marks!.Value.EnumerateArray().Select(e => e.GetProperty("target").GetString()));
        await AuthServer.ApiAsync(sam, HttpMethod.Get, "official", expect: HttpStatusCode.Forbidden);
        // The management API's search carries the ranking fields.
        var managed = await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "search?q=toolbox");
        var entry = Assert.Single(managed!.Value.EnumerateArray());
        Assert.Equal(["name", "visibility", "stars", "official", "pulls"], entry.EnumerateObject().Select(p => p.Name));

        await AuthServer.ApiAsync(admin, HttpMethod.Delete, "namespaces/sam/official", null, HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(admin, HttpMethod.Delete, "repositories/sam/tool/official", null, HttpStatusCode.NoContent);
        Assert.False((await SearchAsync(anonymous, "q=tool")).GetProperty("results")[0].GetProperty("is_official").GetBoolean());
        var audit = await AuthServer.ApiAsync(admin, HttpMethod.Get, "audit?action=official");
        Assert.Equal(4, audit!.Value.GetArrayLength());
        // A repository whose last component is "star" keeps its settings: a PUT with a body is not a star.
        await AuthServer.ApiAsync(sam, HttpMethod.Put, "repositories/sam/star", """{"description":"x"}""", HttpStatusCode.NoContent);
    }
    [Fact]
    public async Task ImageLabelsAreFoundOnceTheJobIndexedThem()
    {
        using var sam = server.As("sam", "sam-password");
        using var admin = server.Admin();
        using var anonymous = server.NewClient();
        var config = Blob.Text("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"org.opencontainers.image.vendor":"Globex Corporation","maintainer":"hank@example.com"}}}""");
        var layer = Blob.Random(100);
        await sam.PushBlobAsync("sam/labelled", config);
        await sam.PushBlobAsync("sam/labelled", layer);
        var manifest = Json.Bytes(Json.ImageManifest(MediaType.OciManifest, config.Descriptor(MediaType.OciConfig), [layer.Descriptor(MediaType.OciLayer)]));
        await sam.PushManifestAsync("sam/labelled", "1", MediaType.OciManifest, manifest);
        await AuthServer.ApiAsync(sam, HttpMethod.Put, "repositories/sam/labelled", """{"visibility":"public"}""", HttpStatusCode.NoContent);

        var ran = await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/search-labels/run");
        Assert.Contains("indexed the labels of", ran!.Value.GetProperty("lastOutcome").GetString());
        Assert.Equal(["sam/labelled"], Names(await SearchAsync(anonymous, "q=globex")));
        Assert.Equal(["sam/labelled"], Names(await SearchAsync(anonymous, "q=hank+example")));

        // A new image under the tag replaces them.
        await sam.PushImageAsync("sam/labelled", "1");
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/search-labels/run");
        Assert.Empty(Names(await SearchAsync(anonymous, "q=globex")));
    }
}
