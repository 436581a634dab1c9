using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>Manifests of every supported kind: push, pull, negotiation, validation and deletion.</summary>
public sealed class ManifestTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private const string ArtifactType = "application/vnd.example.sbom.v1+json";
    private RegistryClient Registry => server.Client;

    public static TheoryData<string> Kinds => new() { "docker", "docker-list", "oci", "oci-index", "oci-artifact" };

    /// <summary>Pushes what a manifest of <paramref name="kind"/> needs and returns it, not yet pushed.</summary>
    private async Task<JsonObject> PrepareAsync(string repository, string kind)
    {
        switch (kind)
        {
            case "docker":
            case "oci":
            {
                var docker = kind == "docker";
                var config = Blob.Text($$"""{"architecture":"arm64","os":"linux","n":"{{Guid.NewGuid()}}"}""");
                var layer = Blob.Random(2000);
                await Registry.PushBlobAsync(repository, config);
                await Registry.PushBlobAsync(repository, layer);
                return Json.ImageManifest(docker ? MediaType.DockerManifest : MediaType.OciManifest,
                    config.Descriptor(docker ? MediaType.DockerConfig : MediaType.OciConfig),
                    [layer.Descriptor(docker ? MediaType.DockerLayer : MediaType.OciLayer)]);
            }
            case "docker-list":
            case "oci-index":
            {
                var docker = kind == "docker-list";
                var amd64 = await Registry.PushImageAsync(repository, mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest);
                var arm64 = await Registry.PushImageAsync(repository, mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest);
                var a = amd64.Descriptor();
                a["platform"] = new JsonObject { ["architecture"] = "amd64", ["os"] = "linux" };
                var b = arm64.Descriptor();
                b["platform"] = new JsonObject { ["architecture"] = "arm64", ["os"] = "linux", ["variant"] = "v8" };
                return Json.Index(docker ? MediaType.DockerManifestList : MediaType.OciIndex, [a, b]);
            }
            case "oci-artifact":
            {
                var payload = Blob.Text($$"""{"sbom":"{{Guid.NewGuid()}}"}""");
                await Registry.PushBlobAsync(repository, Blob.Empty);
                await Registry.PushBlobAsync(repository, payload);
                var manifest = Json.ImageManifest(MediaType.OciManifest, Blob.Empty.Descriptor(MediaType.OciEmpty), [payload.Descriptor("application/spdx+json")]);
                manifest["artifactType"] = ArtifactType;
                return manifest;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    private Task<HttpResponseMessage> PutAsync(string repository, string reference, byte[] body, string contentType) =>
        Registry.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/{reference}", RegistryClient.Bytes(body, contentType: contentType));

    private static void AssertManifestHeaders(HttpResponseMessage r, string mediaType, string digest, long length)
    {
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(mediaType, r.Content.Headers.ContentType?.MediaType);
        Assert.Equal(digest, r.Header("Docker-Content-Digest"));
        Assert.Equal(length, r.Content.Headers.ContentLength);
        Assert.Equal($"\"{digest}\"", r.Headers.ETag?.ToString());
    }

    private async Task AssertUnknownAsync(string repository, string reference)
    {
        using var get = await Registry.GetAsync($"/v2/{repository}/manifests/{reference}");
        await get.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var head = await Registry.HeadAsync($"/v2/{repository}/manifests/{reference}");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    private async Task<string[]> TagsAsync(string repository)
    {
        using var r = await Registry.GetAsync($"/v2/{repository}/tags/list");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await r.JsonAsync();
        return [.. body.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!)];
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Push_pull_head_and_delete(string kind)
    {
        var repository = $"man/{kind}";
        var manifest = await PrepareAsync(repository, kind);
        var mediaType = (string)manifest["mediaType"]!;
        var body = Json.Bytes(manifest);
        var digest = Blob.Sha256(body);

        using (var put = await PutAsync(repository, "v1", body, mediaType))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal($"/v2/{repository}/manifests/{digest}", put.Headers.Location?.OriginalString);
            Assert.Equal(digest, put.Header("Docker-Content-Digest"));
            Assert.Null(put.Header("OCI-Subject"));
        }
        foreach (var reference in new[] { "v1", digest })
        {
            using var get = await Registry.GetAsync($"/v2/{repository}/manifests/{reference}");
            AssertManifestHeaders(get, mediaType, digest, body.Length);
            Assert.Equal(body, await get.BytesAsync());

            using var head = await Registry.HeadAsync($"/v2/{repository}/manifests/{reference}");
            AssertManifestHeaders(head, mediaType, digest, body.Length);
            Assert.Empty(await head.BytesAsync());
        }
        using (var request = new HttpRequestMessage(HttpMethod.Get, Registry.Url($"/v2/{repository}/manifests/v1")))
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", $"\"{digest}\"");
            using var cached = await Registry.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
            Assert.Empty(await cached.BytesAsync());
        }
        using (var again = await PutAsync(repository, digest, body, mediaType))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            Assert.Equal(digest, again.Header("Docker-Content-Digest"));
        }
        Assert.Contains("v1", await TagsAsync(repository));

        using (var delete = await Registry.DeleteAsync($"/v2/{repository}/manifests/{digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        await AssertUnknownAsync(repository, digest);
        await AssertUnknownAsync(repository, "v1");
        using var deleteAgain = await Registry.DeleteAsync($"/v2/{repository}/manifests/{digest}");
        await deleteAgain.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task An_OCI_manifest_without_mediaType_takes_it_from_Content_Type()
    {
        var manifest = await PrepareAsync("man/nomediatype", "oci");
        manifest.Remove("mediaType");
        var body = Json.Bytes(manifest);
        using (var put = await PutAsync("man/nomediatype", "v1", body, MediaType.OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }
        using var get = await Registry.GetAsync("/v2/man/nomediatype/manifests/v1");
        AssertManifestHeaders(get, MediaType.OciManifest, Blob.Sha256(body), body.Length);
    }

    [Fact]
    public async Task A_manifest_is_only_visible_in_its_repository()
    {
        var image = await Registry.PushImageAsync("man/iso-a", "v1");
        await AssertUnknownAsync("man/iso-b", "v1");
        await AssertUnknownAsync("man/iso-b", image.Digest);
    }

    [Fact]
    public async Task Accept_negotiation_hides_an_index_from_a_client_that_does_not_list_it()
    {
        var index = await PrepareAsync("man/accept", "oci-index");
        var digest = await Registry.PushManifestAsync("man/accept", "multi", index);

        using (var dockerOnly = await Registry.GetAsync("/v2/man/accept/manifests/multi", MediaType.DockerManifest))
        {
            await dockerOnly.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }
        using (var dockerOnlyHead = await Registry.HeadAsync($"/v2/man/accept/manifests/{digest}", MediaType.DockerManifest))
        {
            Assert.Equal(HttpStatusCode.NotFound, dockerOnlyHead.StatusCode);
        }
        using (var noAccept = await Registry.GetAsync("/v2/man/accept/manifests/multi"))
        {
            AssertManifestHeaders(noAccept, MediaType.OciIndex, digest, Json.Bytes(index).Length);
        }
        foreach (var accept in new[]
        {
            $"{MediaType.DockerManifest}, {MediaType.OciIndex}",
            $"{MediaType.OciIndex};q=0.5",
            "*/*",
            $"{MediaType.DockerManifest}, {MediaType.DockerManifestList}, {MediaType.OciManifest}, {MediaType.OciIndex}",
        })
        {
            using var r = await Registry.GetAsync("/v2/man/accept/manifests/multi", accept);
            AssertManifestHeaders(r, MediaType.OciIndex, digest, Json.Bytes(index).Length);
        }
    }

    [Fact]
    public async Task Schema_1_is_refused()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"schemaVersion":1,"name":"man/schema1","tag":"v1","architecture":"amd64",
             "fsLayers":[{"blobSum":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
             "history":[{"v1Compatibility":"{}"}],
             "signatures":[]}
            """);
        using (var signed = await PutAsync("man/schema1", "v1", body, MediaType.DockerSchema1Signed))
        {
            await signed.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        }
        using (var json = await PutAsync("man/schema1", "v1", body, "application/json"))
        {
            await json.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        }
        await AssertUnknownAsync("man/schema1", "v1");
    }

    [Fact]
    public async Task A_manifest_naming_a_missing_blob_is_MANIFEST_BLOB_UNKNOWN_and_not_tagged()
    {
        await Registry.PushImageAsync("man/missing", "v1");
        var config = Blob.Text("""{"architecture":"amd64","os":"linux"}""");
        await Registry.PushBlobAsync("man/missing", config);
        var missing = Blob.Random(100);
        var elsewhere = Blob.Random(100);
        await Registry.PushBlobAsync("man/missing-elsewhere", elsewhere);

        foreach (var layer in new[] { missing, elsewhere })
        {
            var manifest = Json.ImageManifest(MediaType.OciManifest, config.Descriptor(MediaType.OciConfig), [layer.Descriptor(MediaType.OciLayer)]);
            using var r = await PutAsync("man/missing", "v2", Json.Bytes(manifest), MediaType.OciManifest);
            var error = await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
            Assert.Equal(layer.Digest, error.GetProperty("detail").GetProperty("digest").GetString());
            await AssertUnknownAsync("man/missing", "v2");
            await AssertUnknownAsync("man/missing", Blob.Sha256(Json.Bytes(manifest)));
        }

        var noConfig = Json.ImageManifest(MediaType.DockerManifest, missing.Descriptor(MediaType.DockerConfig), []);
        using (var r = await PutAsync("man/missing", "v3", Json.Bytes(noConfig), MediaType.DockerManifest))
        {
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        }
        Assert.Equal(new[] { "v1" }, await TagsAsync("man/missing"));
    }

    [Fact]
    public async Task A_manifest_that_fails_in_a_new_repository_does_not_create_it()
    {
        var manifest = Json.ImageManifest(MediaType.OciManifest, Blob.Random(10).Descriptor(MediaType.OciConfig), []);
        using (var r = await PutAsync("man/never-created", "v1", Json.Bytes(manifest), MediaType.OciManifest))
        {
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        }
        using var tags = await Registry.GetAsync("/v2/man/never-created/tags/list");
        await tags.AssertErrorAsync(HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Theory]
    [InlineData(MediaType.OciIndex)]
    [InlineData(MediaType.DockerManifestList)]
    public async Task An_index_with_a_missing_child_is_refused(string mediaType)
    {
        var present = await Registry.PushImageAsync("man/index-missing");
        var absent = Json.Descriptor(MediaType.OciManifest, Blob.Random(300).Digest, 300);
        var index = Json.Bytes(Json.Index(mediaType, [present.Descriptor(), absent]));
        using (var r = await PutAsync("man/index-missing", "multi", index, mediaType))
        {
            var error = await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
            Assert.Equal((string)absent["digest"]!, error.GetProperty("detail").GetProperty("digest").GetString());
        }
        await AssertUnknownAsync("man/index-missing", "multi");

        // A blob is not a manifest: a child that was only pushed as a blob is refused as well.
        var blobOnly = Blob.Text("""{"schemaVersion":2}""");
        await Registry.PushBlobAsync("man/index-missing", blobOnly);
        var withBlob = Json.Bytes(Json.Index(mediaType, [blobOnly.Descriptor(MediaType.OciManifest)]));
        using (var r = await PutAsync("man/index-missing", "multi", withBlob, mediaType))
        {
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        }
        await AssertUnknownAsync("man/index-missing", "multi");
    }

    [Fact]
    public async Task A_manifest_over_4_MiB_is_413()
    {
        var body = new byte[(4 << 20) + 1];
        body.AsSpan().Fill((byte)' ');
        "{}"u8.CopyTo(body);
        using (var sized = await PutAsync("man/large", "v1", body, MediaType.OciManifest))
        {
            await sized.AssertErrorAsync(HttpStatusCode.RequestEntityTooLarge, "SIZE_INVALID");
        }

        using var request = new HttpRequestMessage(HttpMethod.Put, Registry.Url("/v2/man/large/manifests/v1"))
        {
            Content = RegistryClient.Bytes(body, contentType: MediaType.OciManifest),
        };
        request.Content.Headers.ContentLength = null;
        request.Headers.TransferEncodingChunked = true;
        using (var chunked = await Registry.SendAsync(request))
        {
            await chunked.AssertErrorAsync(HttpStatusCode.RequestEntityTooLarge, "SIZE_INVALID");
        }
        await AssertUnknownAsync("man/large", "v1");
    }

    [Fact]
    public async Task A_manifest_of_exactly_4_MiB_is_accepted()
    {
        var manifest = await PrepareAsync("man/large-ok", "oci");
        manifest["annotations"] = new JsonObject { ["pad"] = "" };
        var padding = (4 << 20) - Json.Bytes(manifest).Length;
        manifest["annotations"]!["pad"] = new string('x', padding);
        var body = Json.Bytes(manifest);
        Assert.Equal(4 << 20, body.Length);

        var digest = await Registry.PushManifestAsync("man/large-ok", "v1", MediaType.OciManifest, body);
        using var get = await Registry.GetAsync("/v2/man/large-ok/manifests/v1");
        AssertManifestHeaders(get, MediaType.OciManifest, digest, body.Length);
        Assert.Equal(body, await get.BytesAsync());
    }

    public static TheoryData<string> MalformedManifests => new()
    {
        "",
        "not json",
        "{\"schemaVersion\":2,",
        "[]",
        "null",
        "\"manifest\"",
        "{}",
        "{\"schemaVersion\":3,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{},\"layers\":[]}",
        "{\"schemaVersion\":\"2\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":null,\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"size\":-1,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"size\":2.5,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"nonsense\",\"size\":2,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"size\":2,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":{}}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"size\":2,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[],\"annotations\":{\"a\":1}}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":{}}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[1]}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example.not-a-manifest\"}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"mediaType\":7}",
        "{\"schemaVersion\":2,\"mediaType\":\"\\ud800\",\"config\":{},\"layers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"size\":2,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[],\"annotations\":{\"\\udc00\":\"x\"}}",
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"a/b\",\"size\":2,\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},\"layers\":[],\"annotations\":{\"k\":\"\\ud800x\"}}",
        new string('[', 200) + new string(']', 200),
    };

    [Theory]
    [MemberData(nameof(MalformedManifests))]
    public async Task Malformed_manifests_are_MANIFEST_INVALID(string body)
    {
        using var r = await PutAsync("man/malformed", "v1", Encoding.UTF8.GetBytes(body), MediaType.OciManifest);
        await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        await AssertUnknownAsync("man/malformed", "v1");
    }

    [Fact]
    public async Task Invalid_UTF8_is_MANIFEST_INVALID()
    {
        byte[] body = [.. "{\"schemaVersion\":2,\"mediaType\":\""u8, 0xff, 0xfe, .. "\"}"u8];
        using var r = await PutAsync("man/malformed", "v1", body, MediaType.OciManifest);
        await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task A_descriptor_with_an_invalid_digest_is_DIGEST_INVALID()
    {
        var manifest = Json.ImageManifest(MediaType.OciManifest, Json.Descriptor(MediaType.OciConfig, "sha256:nothex", 2), []);
        using var r = await PutAsync("man/malformed", "v1", Json.Bytes(manifest), MediaType.OciManifest);
        await r.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task Content_Type_that_contradicts_mediaType_is_refused()
    {
        var manifest = await PrepareAsync("man/contenttype", "oci");
        var body = Json.Bytes(manifest);
        foreach (var contentType in new[] { MediaType.DockerManifest, MediaType.OciIndex, MediaType.DockerManifestList })
        {
            using var r = await PutAsync("man/contenttype", "v1", body, contentType);
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        }
        await AssertUnknownAsync("man/contenttype", "v1");
    }

    [Fact]
    public async Task PUT_by_digest_checks_the_digest()
    {
        var manifest = await PrepareAsync("man/bydigest", "oci");
        var body = Json.Bytes(manifest);
        var wrong = Blob.Random(10).Digest;
        using (var r = await PutAsync("man/bydigest", wrong, body, MediaType.OciManifest))
        {
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
        await AssertUnknownAsync("man/bydigest", wrong);
        await AssertUnknownAsync("man/bydigest", Blob.Sha256(body));

        var sha512 = Blob.Sha512(body);
        using (var r = await PutAsync("man/bydigest", sha512, body, MediaType.OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            Assert.Equal(sha512, r.Header("Docker-Content-Digest"));
        }
        using var get = await Registry.GetAsync($"/v2/man/bydigest/manifests/{sha512}");
        AssertManifestHeaders(get, MediaType.OciManifest, sha512, body.Length);
        Assert.Equal(body, await get.BytesAsync());
    }

    [Theory]
    [InlineData("oci-artifact")]
    [InlineData("oci")]
    [InlineData("oci-index")]
    public async Task A_manifest_with_a_subject_is_201_with_OCI_Subject(string kind)
    {
        var repository = $"man/subject-{kind}";
        var subject = await Registry.PushImageAsync(repository, "v1");
        var manifest = await PrepareAsync(repository, kind);
        manifest["subject"] = subject.Descriptor();
        using (var r = await PutAsync(repository, Blob.Sha256(Json.Bytes(manifest)), Json.Bytes(manifest), (string)manifest["mediaType"]!))
        {
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            Assert.Equal(subject.Digest, r.Header("OCI-Subject"));
        }

        // The subject need not exist (yet).
        var dangling = await PrepareAsync(repository, kind);
        var absent = Json.Descriptor(MediaType.OciManifest, Blob.Random(5).Digest, 5);
        dangling["subject"] = absent;
        using var d = await PutAsync(repository, "dangling", Json.Bytes(dangling), (string)dangling["mediaType"]!);
        Assert.Equal(HttpStatusCode.Created, d.StatusCode);
        Assert.Equal((string)absent["digest"]!, d.Header("OCI-Subject"));
    }

    [Fact]
    public async Task Deleting_a_tag_deletes_only_that_tag()
    {
        var image = await Registry.PushImageAsync("man/untag", "a");
        await Registry.PushManifestAsync("man/untag", "b", image.MediaType, image.Manifest);

        using (var delete = await Registry.DeleteAsync("/v2/man/untag/manifests/a"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        await AssertUnknownAsync("man/untag", "a");
        foreach (var reference in new[] { "b", image.Digest })
        {
            using var get = await Registry.GetAsync($"/v2/man/untag/manifests/{reference}");
            AssertManifestHeaders(get, image.MediaType, image.Digest, image.Manifest.Length);
        }
        Assert.Equal(new[] { "b" }, await TagsAsync("man/untag"));
        using var again = await Registry.DeleteAsync("/v2/man/untag/manifests/a");
        await again.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task Deleting_by_digest_removes_its_tags()
    {
        var image = await Registry.PushImageAsync("man/undigest", "x");
        await Registry.PushManifestAsync("man/undigest", "y", image.MediaType, image.Manifest);
        var other = await Registry.PushImageAsync("man/undigest", "z");

        using (var delete = await Registry.DeleteAsync($"/v2/man/undigest/manifests/{image.Digest}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        await AssertUnknownAsync("man/undigest", "x");
        await AssertUnknownAsync("man/undigest", "y");
        await AssertUnknownAsync("man/undigest", image.Digest);
        Assert.Equal(new[] { "z" }, await TagsAsync("man/undigest"));
        using var get = await Registry.GetAsync("/v2/man/undigest/manifests/z");
        AssertManifestHeaders(get, other.MediaType, other.Digest, other.Manifest.Length);
    }

    [Fact]
    public async Task Deleting_an_unknown_manifest_is_MANIFEST_UNKNOWN()
    {
        using var tag = await Registry.DeleteAsync("/v2/man/nothing/manifests/latest");
        await tag.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var digest = await Registry.DeleteAsync($"/v2/man/nothing/manifests/{Blob.Random(3).Digest}");
        await digest.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task Pushing_a_tag_again_moves_it()
    {
        var first = await Registry.PushImageAsync("man/retag", "latest");
        using (var get = await Registry.GetAsync("/v2/man/retag/manifests/latest"))
        {
            AssertManifestHeaders(get, first.MediaType, first.Digest, first.Manifest.Length);
        }
        var second = await Registry.PushImageAsync("man/retag", "latest", MediaType.DockerManifest);
        using (var get = await Registry.GetAsync("/v2/man/retag/manifests/latest"))
        {
            AssertManifestHeaders(get, MediaType.DockerManifest, second.Digest, second.Manifest.Length);
            Assert.Equal(second.Manifest, await get.BytesAsync());
        }
        using var old = await Registry.GetAsync($"/v2/man/retag/manifests/{first.Digest}");
        AssertManifestHeaders(old, first.MediaType, first.Digest, first.Manifest.Length);
    }

    [Fact]
    public async Task A_manifest_cannot_reference_a_blob_deleted_from_its_repository()
    {
        var manifest = await PrepareAsync("man/deleted-blob", "oci");
        var layer = (string)manifest["layers"]![0]!["digest"]!;
        using (var delete = await Registry.DeleteAsync($"/v2/man/deleted-blob/blobs/{layer}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        }
        using var r = await PutAsync("man/deleted-blob", "v1", Json.Bytes(manifest), MediaType.OciManifest);
        var error = await r.AssertErrorAsync(HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(layer, error.GetProperty("detail").GetProperty("digest").GetString());
    }

    [Fact]
    public async Task Concurrent_pushes_to_one_repository_all_land()
    {
        // What docker push does: layers and manifests of several images at once, into one database.
        var tags = Enumerable.Range(0, 16).Select(i => $"t{i:D2}").ToArray();
        var images = await Task.WhenAll(tags.Select(tag => Registry.PushImageAsync("man/concurrent", tag)));
        Assert.Equal(tags, await TagsAsync("man/concurrent"));
        foreach (var image in images)
        {
            using var get = await Registry.GetAsync($"/v2/man/concurrent/manifests/{image.Digest}");
            AssertManifestHeaders(get, image.MediaType, image.Digest, image.Manifest.Length);
        }
    }
}
