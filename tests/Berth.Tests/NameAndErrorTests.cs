using System.Net;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>The base endpoint, and how every route refuses bad names, tags, digests and methods.</summary>
public sealed class NameAndErrorTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private const string SomeDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private RegistryClient Registry => server.Client;

    [Fact]
    public async Task Base_endpoint_answers_GET_and_HEAD_with_the_api_version()
    {
        using var get = await Registry.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("registry/2.0", get.Header("Docker-Distribution-API-Version"));
        Assert.Equal("application/json", get.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{}", await get.Content.ReadAsStringAsync());

        using var head = await Registry.HeadAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("registry/2.0", head.Header("Docker-Distribution-API-Version"));
        Assert.Empty(await head.BytesAsync());

        using var noSlash = await Registry.GetAsync("/v2");
        Assert.Equal(HttpStatusCode.OK, noSlash.StatusCode);
    }

    public static TheoryData<string> InvalidNames => new()
    {
        "Upper",
        "upper/Case",
        "a..b",
        "..a",
        "a.",
        "a//b",
        "/a",
        "a/",
        "-a",
        "a-",
        "a___b",
        "a$b",
        "a%2Fb",
        "caf%C3%A9",
        new string('a', 256),
        string.Join('/', Enumerable.Repeat("abcdefghijklmnop", 16)),
    };

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task Invalid_repository_names_are_NAME_INVALID_on_every_route(string name)
    {
        string[] paths =
        [
            $"/v2/{name}/manifests/latest",
            $"/v2/{name}/blobs/{SomeDigest}",
            $"/v2/{name}/tags/list",
            $"/v2/{name}/referrers/{SomeDigest}",
            $"/v2/{name}/blobs/uploads/0123456789abcdef0123456789abcdef",
        ];
        foreach (var path in paths)
        {
            using var r = await Registry.GetAsync(path);
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "NAME_INVALID");
        }
        using var post = await Registry.SendAsync(HttpMethod.Post, $"/v2/{name}/blobs/uploads/");
        await post.AssertErrorAsync(HttpStatusCode.BadRequest, "NAME_INVALID");
        using var put = await Registry.SendAsync(HttpMethod.Put, $"/v2/{name}/manifests/latest", RegistryClient.Bytes("{}"u8.ToArray(), contentType: MediaType.OciManifest));
        await put.AssertErrorAsync(HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("a/b/c")]
    [InlineData("a.b_c__d--e-f")]
    [InlineData("0/9")]
    public async Task Valid_repository_names_reach_the_handler(string name)
    {
        using var r = await Registry.GetAsync($"/v2/{name}/manifests/latest");
        await r.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task A_name_of_exactly_255_characters_is_valid()
    {
        var name = string.Join('/', Enumerable.Repeat("abcdefghijklmno", 16)); // 16 * 15 + 15 = 255
        Assert.Equal(255, name.Length);
        using var r = await Registry.GetAsync($"/v2/{name}/manifests/latest");
        await r.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Theory]
    [InlineData("/v2/../etc/passwd")]
    [InlineData("/v2/a/../../etc/passwd")]
    [InlineData("/v2/a/%2e%2e/blobs/uploads/")]
    [InlineData("/v2/a/./manifests/latest")]
    public async Task Dot_segments_never_reach_a_repository(string path)
    {
        // Kestrel removes dot segments before routing; whatever remains must not be served as a repository.
        using var r = await Registry.GetAsync(path);
        Assert.True((int)r.StatusCode is >= 400 and < 500, $"{path} answered {(int)r.StatusCode}");
    }

    [Theory]
    [InlineData("-tag")]
    [InlineData(".tag")]
    [InlineData("bad!tag")]
    [InlineData("t%20g")]
    public async Task Invalid_tags_are_TAG_INVALID_on_push_and_unknown_on_read(string tag)
    {
        // A tag that cannot exist is simply not there for GET and DELETE (the OCI conformance suite asks 404).
        using var get = await Registry.GetAsync($"/v2/names/tags/manifests/{tag}");
        await get.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var put = await Registry.SendAsync(HttpMethod.Put, $"/v2/names/tags/manifests/{tag}", RegistryClient.Bytes("{}"u8.ToArray(), contentType: MediaType.OciManifest));
        await put.AssertErrorAsync(HttpStatusCode.BadRequest, "TAG_INVALID");
        using var delete = await Registry.DeleteAsync($"/v2/names/tags/manifests/{tag}");
        await delete.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task A_tag_of_129_characters_is_TAG_INVALID_and_128_is_valid()
    {
        using var tooLong = await Registry.SendAsync(HttpMethod.Put, $"/v2/names/tags/manifests/{new string('t', 129)}", RegistryClient.Bytes("{}"u8.ToArray(), contentType: MediaType.OciManifest));
        await tooLong.AssertErrorAsync(HttpStatusCode.BadRequest, "TAG_INVALID");
        using var longest = await Registry.GetAsync($"/v2/names/tags/manifests/{new string('t', 128)}");
        await longest.AssertErrorAsync(HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("sha256:0000000000000000000000000000000000000000000000000000000000000000aa")]
    [InlineData("sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("sha512:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(":0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task Invalid_digests_are_DIGEST_INVALID(string digest)
    {
        foreach (var path in new[] { $"/v2/names/digests/manifests/{digest}", $"/v2/names/digests/blobs/{digest}", $"/v2/names/digests/referrers/{digest}" })
        {
            using var r = await Registry.GetAsync(path);
            await r.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        }
        using var delete = await Registry.DeleteAsync($"/v2/names/digests/blobs/{digest}");
        await delete.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var monolithic = await Registry.SendAsync(HttpMethod.Post, $"/v2/names/digests/blobs/uploads/?digest={digest}", RegistryClient.Bytes("x"u8.ToArray()));
        await monolithic.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");

        var upload = await Registry.StartUploadAsync("names/digests");
        using var put = await Registry.SendAsync(HttpMethod.Put, $"{upload}?digest={digest}", RegistryClient.Bytes("x"u8.ToArray()));
        await put.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task A_blob_path_without_an_algorithm_is_DIGEST_INVALID()
    {
        using var r = await Registry.GetAsync("/v2/names/digests/blobs/latest");
        await r.AssertErrorAsync(HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Theory]
    [InlineData("POST", "/v2/")]
    [InlineData("PUT", "/v2/")]
    [InlineData("DELETE", "/v2/_catalog")]
    [InlineData("POST", "/v2/names/method/manifests/latest")]
    [InlineData("PATCH", "/v2/names/method/manifests/latest")]
    [InlineData("PUT", "/v2/names/method/blobs/" + SomeDigest)]
    [InlineData("POST", "/v2/names/method/blobs/" + SomeDigest)]
    [InlineData("PUT", "/v2/names/method/tags/list")]
    [InlineData("DELETE", "/v2/names/method/referrers/" + SomeDigest)]
    [InlineData("GET", "/v2/names/method/blobs/uploads/")]
    [InlineData("PUT", "/v2/names/method/blobs/uploads/")]
    [InlineData("POST", "/v2/names/method/blobs/uploads/0123456789abcdef0123456789abcdef")]
    [InlineData("OPTIONS", "/v2/names/method/manifests/latest")]
    public async Task Unsupported_methods_are_405_UNSUPPORTED(string method, string path)
    {
        using var r = await Registry.SendAsync(new HttpMethod(method), path, method is "GET" or "OPTIONS" ? null : RegistryClient.Bytes([]));
        await r.AssertErrorAsync(HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
    }

    [Theory]
    [InlineData("/v1/")]
    [InlineData("/v2x")]
    [InlineData("/v2/names/unknown/route/x")]
    [InlineData("/v2/names/unknown/manifests/")]
    public async Task Paths_outside_the_api_are_404(string path)
    {
        using var r = await Registry.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        await r.AssertErrorAsync(HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }
}
