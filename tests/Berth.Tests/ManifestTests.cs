using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Core;

namespace Berth.Tests;

public sealed class ManifestTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private readonly HttpClient _http = server.Http;

    private Task<HttpResponseMessage> GetAsync(string path, string? accept = null, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        return _http.SendAsync(request);
    }

    [Theory]
    [InlineData(MediaTypes.OciManifest)]
    [InlineData(MediaTypes.DockerManifest)]
    public async Task ImageManifestsRoundTripByTagAndDigest(string mediaType)
    {
        var repo = "manifests/image";
        var (json, digest) = await _http.PushImageAsync(repo, "v1", mediaType);
        foreach (var reference in new[] { "v1", digest })
        {
            using var get = await GetAsync($"/v2/{repo}/manifests/{reference}", mediaType);
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(json, await get.Content.ReadAsStringAsync());
            Assert.Equal(mediaType, get.Content.Headers.ContentType!.MediaType);
            Assert.Equal(digest, get.Header("Docker-Content-Digest"));
            Assert.Equal($"\"{digest}\"", get.Headers.ETag!.Tag);

            using var head = await GetAsync($"/v2/{repo}/manifests/{reference}", mediaType, HttpMethod.Head);
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(Encoding.UTF8.GetByteCount(json), head.Content.Headers.ContentLength);
            Assert.Equal(digest, head.Header("Docker-Content-Digest"));
        }
    }

    [Fact]
    public async Task PutAnswersWithLocationAndDigest()
    {
        var json = await _http.ImageJsonAsync("manifests/put");
        using var put = await _http.PutManifestAsync("manifests/put", "latest", json, MediaTypes.OciManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var digest = Api.DigestOf(Encoding.UTF8.GetBytes(json));
        Assert.Equal(digest, put.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/manifests/put/manifests/{digest}", put.Headers.Location!.ToString());
    }

    [Theory]
    [InlineData(MediaTypes.OciIndex)]
    [InlineData(MediaTypes.DockerManifestList)]
    public async Task IndexesAndManifestLists(string mediaType)
    {
        var repo = "manifests/index";
        var childType = mediaType == MediaTypes.OciIndex ? MediaTypes.OciManifest : MediaTypes.DockerManifest;
        var (amdJson, amd) = await _http.PushImageAsync(repo, "amd64", childType);
        var (armJson, arm) = await _http.PushImageAsync(repo, "arm64", childType);
        var index = $$$"""{"schemaVersion":2,"mediaType":"{{{mediaType}}}","manifests":[{"mediaType":"{{{childType}}}","digest":"{{{amd}}}","size":{{{amdJson.Length}}},"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"{{{childType}}}","digest":"{{{arm}}}","size":{{{armJson.Length}}},"platform":{"architecture":"arm64","os":"linux"}}]}""";
        using var put = await _http.PutManifestAsync(repo, "multi", index, mediaType);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using var get = await GetAsync($"/v2/{repo}/manifests/multi", mediaType);
        Assert.Equal(index, await get.Content.ReadAsStringAsync());
        Assert.Equal(mediaType, get.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task AnIndexWithAMissingChildIsRefused()
    {
        var missing = Api.DigestOf(Encoding.UTF8.GetBytes("no such manifest"));
        var index = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{missing}}","size":10}]}""";
        using var put = await _http.PutManifestAsync("manifests/badindex", "x", index, MediaTypes.OciIndex);
        var detail = await put.AssertErrorAsync(400, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(missing, detail!.Value.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task AManifestWithAMissingBlobIsRefusedAndNoTagIsCreated()
    {
        var config = await _http.PushBlobAsync("manifests/missing", Encoding.UTF8.GetBytes("{}"));
        var missing = Api.DigestOf(Api.RandomBytes(10));
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{missing}}","size":10}]}""";
        using var put = await _http.PutManifestAsync("manifests/missing", "broken", json, MediaTypes.OciManifest);
        await put.AssertErrorAsync(400, "MANIFEST_BLOB_UNKNOWN");
        using var get = await GetAsync("/v2/manifests/missing/manifests/broken");
        await get.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task ABlobFromAnotherRepositoryDoesNotCount()
    {
        var json = await _http.ImageJsonAsync("manifests/elsewhere");
        using var put = await _http.PutManifestAsync("manifests/here", "x", json, MediaTypes.OciManifest);
        await put.AssertErrorAsync(400, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task AnArtifactWithSubjectAnswersOciSubject()
    {
        var repo = "manifests/artifact";
        var (_, subject) = await _http.PushImageAsync(repo, "1.0");
        await _http.PushBlobAsync(repo, Encoding.UTF8.GetBytes("{}"));
        var layer = await _http.PushBlobAsync(repo, Encoding.UTF8.GetBytes("sbom contents"));
        var json = $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","artifactType":"application/vnd.example.sbom","config":{"mediaType":"{{{MediaTypes.OciEmpty}}}","digest":"{{{Api.EmptyConfigDigest}}}","size":2},"layers":[{"mediaType":"text/plain","digest":"{{{layer}}}","size":13}],"subject":{"mediaType":"{{{MediaTypes.OciManifest}}}","digest":"{{{subject}}}","size":100}}""";
        var digest = Api.DigestOf(Encoding.UTF8.GetBytes(json));
        using var put = await _http.PutManifestAsync(repo, digest, json, MediaTypes.OciManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(subject, put.Header("OCI-Subject"));
    }

    [Fact]
    public async Task AcceptIsNegotiated()
    {
        var repo = "manifests/accept";
        var (json, digest) = await _http.PushImageAsync(repo, "child");
        var index = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{digest}}","size":{{json.Length}}}]}""";
        using (await _http.PutManifestAsync(repo, "idx", index, MediaTypes.OciIndex)) { }
        using var refused = await GetAsync($"/v2/{repo}/manifests/idx", MediaTypes.DockerManifest);
        await refused.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
        using var none = await GetAsync($"/v2/{repo}/manifests/idx");
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        using var wildcard = await GetAsync($"/v2/{repo}/manifests/idx", "*/*");
        Assert.Equal(HttpStatusCode.OK, wildcard.StatusCode);
        using var listed = await GetAsync($"/v2/{repo}/manifests/idx", $"{MediaTypes.DockerManifest}, {MediaTypes.OciIndex};q=0.9");
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
    }

    [Fact]
    public async Task Schema1IsRefusedWithAClearMessage()
    {
        using var put = await _http.PutManifestAsync("manifests/schema1", "old", """{"schemaVersion":1,"name":"manifests/schema1","tag":"old","fsLayers":[],"history":[]}""", MediaTypes.DockerSchema1Signed);
        await put.AssertErrorAsync(400, "MANIFEST_INVALID");
    }

    [Theory]
    [InlineData("{not json", MediaTypes.OciManifest)]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}""", MediaTypes.OciManifest)]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}""", MediaTypes.OciManifest)]
    [InlineData("""{"schemaVersion":2,"mediaType":"text/plain"}""", "text/plain")]
    public async Task MalformedOrContradictoryManifestsAre400(string json, string contentType)
    {
        using var put = await _http.PutManifestAsync("manifests/bad", "bad", json, contentType);
        await put.AssertErrorAsync(400, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task APushByTheWrongDigestIsRefused()
    {
        var json = await _http.ImageJsonAsync("manifests/wrongdigest");
        using var put = await _http.PutManifestAsync("manifests/wrongdigest", Api.DigestOf([1]), json, MediaTypes.OciManifest);
        await put.AssertErrorAsync(400, "DIGEST_INVALID");
    }

    [Fact]
    public async Task AManifestPushedBySha512IsServedBySha512()
    {
        var json = await _http.ImageJsonAsync("manifests/sha512");
        var digest = Digest.Compute(Encoding.UTF8.GetBytes(json), "sha512").ToString();
        using var put = await _http.PutManifestAsync("manifests/sha512", digest, json, MediaTypes.OciManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using var get = await GetAsync($"/v2/manifests/sha512/manifests/{digest}");
        Assert.Equal(json, await get.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AHugeManifestIs413AndNothingIsStored()
    {
        var padding = new string('a', 5 * 1024 * 1024);
        var json = await _http.ImageJsonAsync("manifests/huge", extra: $$""","annotations":{"pad":"{{padding}}"}""");
        using var put = await _http.PutManifestAsync("manifests/huge", "huge", json, MediaTypes.OciManifest);
        await put.AssertErrorAsync(413, "SIZE_INVALID");
        using var get = await GetAsync("/v2/manifests/huge/manifests/huge");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task DeletingATagDeletesOnlyThatTag()
    {
        var repo = "manifests/deltag";
        var (json, digest) = await _http.PushImageAsync(repo, "a");
        using (await _http.PutManifestAsync(repo, "b", json, MediaTypes.OciManifest)) { }
        using var delete = await _http.DeleteAsync($"/v2/{repo}/manifests/a");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var a = await GetAsync($"/v2/{repo}/manifests/a");
        await a.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
        using var b = await GetAsync($"/v2/{repo}/manifests/b");
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        using var byDigest = await GetAsync($"/v2/{repo}/manifests/{digest}");
        Assert.Equal(HttpStatusCode.OK, byDigest.StatusCode);
    }

    [Fact]
    public async Task DeletingByDigestRemovesTheManifestAndItsTags()
    {
        var repo = "manifests/deldigest";
        var (_, digest) = await _http.PushImageAsync(repo, "x");
        using var delete = await _http.DeleteAsync($"/v2/{repo}/manifests/{digest}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var byTag = await GetAsync($"/v2/{repo}/manifests/x");
        await byTag.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
        using var byDigest = await GetAsync($"/v2/{repo}/manifests/{digest}");
        await byDigest.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
        using var again = await _http.DeleteAsync($"/v2/{repo}/manifests/{digest}");
        await again.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
        var tags = JsonDocument.Parse(await _http.GetStringAsync($"/v2/{repo}/tags/list")).RootElement.GetProperty("tags");
        Assert.Equal(0, tags.GetArrayLength());
    }

    [Fact]
    public async Task ATagMovesToTheNewestPush()
    {
        var repo = "manifests/move";
        await _http.PushImageAsync(repo, "prod");
        var (_, second) = await _http.PushImageAsync(repo, "prod");
        using var get = await GetAsync($"/v2/{repo}/manifests/prod");
        Assert.Equal(second, get.Header("Docker-Content-Digest"));
    }

    [Fact]
    public async Task InvalidReferences()
    {
        using var tag = await GetAsync("/v2/manifests/x/manifests/.INVALID_TAG");
        await tag.AssertErrorAsync(404, "MANIFEST_UNKNOWN");
        var json = await _http.ImageJsonAsync("manifests/x");
        using var push = await _http.PutManifestAsync("manifests/x", "-bad", json, MediaTypes.OciManifest);
        await push.AssertErrorAsync(400, "TAG_INVALID");
        using var digest = await GetAsync("/v2/manifests/x/manifests/sha256:short");
        await digest.AssertErrorAsync(400, "DIGEST_INVALID");
    }
}
