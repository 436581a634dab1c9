using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>Tag lists, the catalog (with pagination) and the referrers API.</summary>
public sealed class ListTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private const string Sbom = "application/vnd.example.sbom.v1+json";
    private const string Signature = "application/vnd.example.signature.v1";
    private const string Bundle = "application/vnd.example.bundle.v1";
    private const string ExampleConfig = "application/vnd.example.config.v1+json";

    private RegistryClient Registry => server.Client;

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>GETs one page; returns its entries under <paramref name="property"/> and the next page's path from Link, if any.</summary>
    private async Task<(string[] Items, string? Next)> PageAsync(string path, string property)
    {
        using var r = await Registry.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        var body = await r.JsonAsync();
        var link = r.Header("Link");
        string? next = null;
        if (link is not null)
        {
            Assert.Matches("^<[^>]+>; rel=\"next\"$", link);
            next = link[1..link.IndexOf('>')];
        }
        return (Strings(body.GetProperty(property)), next);
    }

    private async Task<List<string[]>> WalkAsync(string path, string property)
    {
        var pages = new List<string[]>();
        for (string? next = path; next is not null;)
        {
            Assert.True(pages.Count < 1000, "pagination does not end");
            (var items, next) = await PageAsync(next, property);
            pages.Add(items);
        }
        return pages;
    }

    [Fact]
    public async Task Tags_list_is_sorted_and_paginated_with_Link()
    {
        var image = await Registry.PushImageAsync("lists/tags", "v3");
        foreach (var tag in new[] { "v1", "latest", "v2", "alpha" })
        {
            await Registry.PushManifestAsync("lists/tags", tag, image.MediaType, image.Manifest);
        }
        string[] all = ["alpha", "latest", "v1", "v2", "v3"];

        using (var r = await Registry.GetAsync("/v2/lists/tags/tags/list"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var body = await r.JsonAsync();
            Assert.Equal("lists/tags", body.GetProperty("name").GetString());
            Assert.Equal(all, Strings(body.GetProperty("tags")));
            Assert.Null(r.Header("Link"));
        }

        using (var first = await Registry.GetAsync("/v2/lists/tags/tags/list?n=2"))
        {
            Assert.Equal(new[] { "alpha", "latest" }, Strings((await first.JsonAsync()).GetProperty("tags")));
            Assert.Equal("</v2/lists/tags/tags/list?n=2&last=latest>; rel=\"next\"", first.Header("Link"));
        }

        var pages = await WalkAsync("/v2/lists/tags/tags/list?n=2", "tags");
        Assert.Equal(3, pages.Count);
        Assert.Equal(new[] { "v1", "v2" }, pages[1]);
        Assert.Equal(new[] { "v3" }, pages[2]);

        Assert.Equal(new[] { "v2", "v3" }, (await PageAsync("/v2/lists/tags/tags/list?last=v1", "tags")).Items);
        Assert.Equal(new[] { "v2" }, (await PageAsync("/v2/lists/tags/tags/list?n=1&last=v1", "tags")).Items);
        var (exact, none) = await PageAsync("/v2/lists/tags/tags/list?n=5", "tags");
        Assert.Equal(all, exact);
        Assert.Null(none);
        Assert.Empty((await PageAsync("/v2/lists/tags/tags/list?last=v3", "tags")).Items);
    }

    [Fact]
    public async Task A_repository_without_tags_lists_none()
    {
        await Registry.PushBlobAsync("lists/untagged", Blob.Random(10));
        var (tags, next) = await PageAsync("/v2/lists/untagged/tags/list", "tags");
        Assert.Empty(tags);
        Assert.Null(next);

        var image = await Registry.PushImageAsync("lists/untagged", "gone");
        using (var delete = await Registry.DeleteAsync($"/v2/lists/untagged/manifests/{image.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        Assert.Empty((await PageAsync("/v2/lists/untagged/tags/list", "tags")).Items);
    }

    [Fact]
    public async Task Tags_of_an_unknown_repository_are_NAME_UNKNOWN()
    {
        using var r = await Registry.GetAsync("/v2/lists/nosuchrepo/tags/list");
        var error = await r.AssertErrorAsync(HttpStatusCode.NotFound, "NAME_UNKNOWN");
        Assert.Equal("lists/nosuchrepo", error.GetProperty("detail").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("99999999999")]
    public async Task An_invalid_n_is_400(string n)
    {
        await Registry.PushImageAsync("lists/badn", "v1");
        using var tags = await Registry.GetAsync($"/v2/lists/badn/tags/list?n={n}");
        await tags.AssertErrorAsync(HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
        using var catalog = await Registry.GetAsync($"/v2/_catalog?n={n}");
        await catalog.AssertErrorAsync(HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task Catalog_is_sorted_and_paginated_with_Link()
    {
        foreach (var name in new[] { "cat/c", "cat/a", "cat/b" })
        {
            await Registry.PushBlobAsync(name, Blob.Random(10));
        }

        using (var r = await Registry.GetAsync("/v2/_catalog?n=2&last=cat"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(new[] { "cat/a", "cat/b" }, Strings((await r.JsonAsync()).GetProperty("repositories")));
            Assert.Equal("</v2/_catalog?n=2&last=cat%2Fb>; rel=\"next\"", r.Header("Link"));
        }
        Assert.Equal("cat/c", (await PageAsync("/v2/_catalog?n=2&last=cat%2Fb", "repositories")).Items[0]);

        var (everything, next) = await PageAsync("/v2/_catalog", "repositories");
        Assert.Null(next);
        Assert.Equal(everything.Order(StringComparer.Ordinal), everything);
        Assert.Equal(everything.Distinct(), everything);
        Assert.Contains("cat/a", everything);
        Assert.Contains("cat/b", everything);
        Assert.Contains("cat/c", everything);

        var pages = await WalkAsync("/v2/_catalog?n=1", "repositories");
        Assert.All(pages.SkipLast(1), p => Assert.Single(p));
        Assert.Equal(everything, pages.SelectMany(p => p));
    }

    /// <summary>Pushes an OCI manifest with <paramref name="subject"/> and returns it with its digest.</summary>
    private async Task<(string Digest, byte[] Body)> PushReferrerAsync(string repository, JsonObject manifest, JsonObject subject)
    {
        manifest["subject"] = subject;
        var body = Json.Bytes(manifest);
        var digest = await Registry.PushManifestAsync(repository, Blob.Sha256(body), (string)manifest["mediaType"]!, body);
        return (digest, body);
    }

    private async Task<JsonObject> ArtifactAsync(string repository, string artifactType, IReadOnlyDictionary<string, string>? annotations)
    {
        var payload = Blob.Random(64);
        await Registry.PushBlobAsync(repository, Blob.Empty);
        await Registry.PushBlobAsync(repository, payload);
        var manifest = Json.ImageManifest(MediaType.OciManifest, Blob.Empty.Descriptor(MediaType.OciEmpty), [payload.Descriptor("application/octet-stream")]);
        manifest["artifactType"] = artifactType;
        if (annotations is not null) manifest["annotations"] = Json.Annotations(annotations);
        return manifest;
    }

    /// <summary>The referrers index at <paramref name="path"/>, and its OCI-Filters-Applied header.</summary>
    private async Task<(JsonElement Index, string? FiltersApplied)> ReferrersAsync(string path)
    {
        using var r = await Registry.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(MediaType.OciIndex, r.Content.Headers.ContentType?.MediaType);
        var index = await r.JsonAsync();
        Assert.Equal(2, index.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(MediaType.OciIndex, index.GetProperty("mediaType").GetString());
        return (index, r.Header("OCI-Filters-Applied"));
    }

    private static JsonElement Entry(JsonElement index, string digest) =>
        Assert.Single(index.GetProperty("manifests").EnumerateArray(), m => m.GetProperty("digest").GetString() == digest);

    [Fact]
    public async Task Referrers_lists_the_manifests_with_that_subject()
    {
        const string repo = "lists/referrers";
        var subject = await Registry.PushImageAsync(repo, "v1");
        var other = await Registry.PushImageAsync(repo, "v2");
        var annotations = new Dictionary<string, string> { ["org.opencontainers.image.created"] = "2024-05-01T00:00:00Z", ["com.example.note"] = "hello" };

        var sbom = await PushReferrerAsync(repo, await ArtifactAsync(repo, Sbom, annotations), subject.Descriptor());
        var signature = await PushReferrerAsync(repo, await ArtifactAsync(repo, Signature, null), subject.Descriptor());
        var configBlob = Blob.Text("""{"kind":"example"}""");
        await Registry.PushBlobAsync(repo, configBlob);
        var typedByConfig = await PushReferrerAsync(repo, Json.ImageManifest(MediaType.OciManifest, configBlob.Descriptor(ExampleConfig), []), subject.Descriptor());
        var bundleIndex = Json.Index(MediaType.OciIndex, [other.Descriptor()]);
        bundleIndex["artifactType"] = Bundle;
        var bundle = await PushReferrerAsync(repo, bundleIndex, subject.Descriptor());
        await PushReferrerAsync(repo, await ArtifactAsync(repo, Sbom, null), other.Descriptor());

        var (index, unfiltered) = await ReferrersAsync($"/v2/{repo}/referrers/{subject.Digest}");
        Assert.Null(unfiltered);
        Assert.Equal(4, index.GetProperty("manifests").GetArrayLength());
        foreach (var (referrer, mediaType, artifactType) in new[]
        {
            (sbom, MediaType.OciManifest, Sbom),
            (signature, MediaType.OciManifest, Signature),
            (typedByConfig, MediaType.OciManifest, ExampleConfig),
            (bundle, MediaType.OciIndex, Bundle),
        })
        {
            var entry = Entry(index, referrer.Digest);
            Assert.Equal(mediaType, entry.GetProperty("mediaType").GetString());
            Assert.Equal(referrer.Body.Length, entry.GetProperty("size").GetInt64());
            Assert.Equal(artifactType, entry.GetProperty("artifactType").GetString());
        }
        var sbomAnnotations = Entry(index, sbom.Digest).GetProperty("annotations");
        Assert.Equal(annotations, sbomAnnotations.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!));
        Assert.False(Entry(index, signature.Digest).TryGetProperty("annotations", out var none) && none.ValueKind != JsonValueKind.Null);

        var (filtered, applied) = await ReferrersAsync($"/v2/{repo}/referrers/{subject.Digest}?artifactType={Uri.EscapeDataString(Sbom)}");
        Assert.Equal("artifactType", applied);
        Assert.Equal(sbom.Digest, Assert.Single(filtered.GetProperty("manifests").EnumerateArray()).GetProperty("digest").GetString());

        var (nothing, appliedToNothing) = await ReferrersAsync($"/v2/{repo}/referrers/{subject.Digest}?artifactType=application/vnd.example.none");
        Assert.Equal("artifactType", appliedToNothing);
        Assert.Equal(0, nothing.GetProperty("manifests").GetArrayLength());

        using (var delete = await Registry.DeleteAsync($"/v2/{repo}/manifests/{sbom.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        var (after, _) = await ReferrersAsync($"/v2/{repo}/referrers/{subject.Digest}");
        Assert.Equal(3, after.GetProperty("manifests").GetArrayLength());
        Assert.DoesNotContain(after.GetProperty("manifests").EnumerateArray(), m => m.GetProperty("digest").GetString() == sbom.Digest);
    }

    [Fact]
    public async Task Referrers_of_an_unknown_digest_is_an_empty_index()
    {
        await Registry.PushImageAsync("lists/referrers-empty", "v1");
        var (index, _) = await ReferrersAsync($"/v2/lists/referrers-empty/referrers/{Blob.Random(8).Digest}");
        Assert.Equal(JsonValueKind.Array, index.GetProperty("manifests").ValueKind);
        Assert.Equal(0, index.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task Referrers_are_per_repository()
    {
        var subject = await Registry.PushImageAsync("lists/referrers-a", "v1");
        await PushReferrerAsync("lists/referrers-a", await ArtifactAsync("lists/referrers-a", Sbom, null), subject.Descriptor());
        await Registry.PushManifestAsync("lists/referrers-b", "v1", subject.MediaType, await CopyImageAsync(subject, "lists/referrers-b"));

        var (a, _) = await ReferrersAsync($"/v2/lists/referrers-a/referrers/{subject.Digest}");
        Assert.Equal(1, a.GetProperty("manifests").GetArrayLength());
        var (b, _) = await ReferrersAsync($"/v2/lists/referrers-b/referrers/{subject.Digest}");
        Assert.Equal(0, b.GetProperty("manifests").GetArrayLength());
    }

    private async Task<byte[]> CopyImageAsync(Image image, string repository)
    {
        await Registry.PushBlobAsync(repository, image.Config);
        await Registry.PushBlobAsync(repository, image.Layer);
        return image.Manifest;
    }
}
