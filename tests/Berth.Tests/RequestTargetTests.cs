using System.Net;
using System.Text.Json;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>
/// Routing on the request target as sent. These requests go through a raw socket: HttpClient would remove the dot
/// segments itself, and so would Kestrel before the registry saw the path.
/// </summary>
public sealed class RequestTargetTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private RegistryClient Registry => server.Client;

    private static void AssertError(int status, string body, int expectedStatus, string code)
    {
        Assert.True(status == expectedStatus, $"expected {expectedStatus} {code}, got {status}: {body}");
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(code, doc.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    private async Task AssertNotInCatalogAsync(string name)
    {
        using var catalog = await Registry.GetAsync("/v2/_catalog");
        var names = (await catalog.JsonAsync()).GetProperty("repositories").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.DoesNotContain(name, names);
        using var tags = await Registry.GetAsync($"/v2/{name}/tags/list");
        await tags.AssertErrorAsync(HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Theory]
    [InlineData("ns/../dot1", "dot1")]
    [InlineData("ns/%2e%2e/dot2", "dot2")]
    [InlineData("ns/%2E%2E/dot3", "dot3")]
    [InlineData("ns/.%2e/dot4", "dot4")]
    [InlineData("ns/./dot5", "ns/dot5")]
    [InlineData("ns/%2e/dot6", "ns/dot6")]
    [InlineData("./dot7", "dot7")]
    [InlineData("dot8/..", "dot8")]
    [InlineData("ns//dot9", "ns/dot9")]
    [InlineData("ns%2fdot10", "ns/dot10")]
    [InlineData("ns%2Fdot11", "ns/dot11")]
    public async Task Dot_and_empty_segments_and_encoded_slashes_are_NAME_INVALID_and_create_nothing(string name, string landed)
    {
        var blob = Blob.Random(100);
        var (status, _, body) = await Registry.SendRawAsync("POST", $"/v2/{name}/blobs/uploads/");
        AssertError(status, body, 400, "NAME_INVALID");
        (status, _, body) = await Registry.SendRawAsync("POST", $"/v2/{name}/blobs/uploads/?digest={blob.Digest}", blob.Content);
        AssertError(status, body, 400, "NAME_INVALID");
        (status, _, body) = await Registry.SendRawAsync("PUT", $"/v2/{name}/manifests/latest", Json.Bytes(Json.ImageManifest(MediaType.OciManifest,
            Blob.Empty.Descriptor(MediaType.OciConfig), [])), "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n");
        AssertError(status, body, 400, "NAME_INVALID");
        (status, _, body) = await Registry.SendRawAsync("GET", $"/v2/{name}/tags/list");
        AssertError(status, body, 400, "NAME_INVALID");

        await AssertNotInCatalogAsync(landed);
        using var head = await Registry.HeadAsync($"/v2/{landed}/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Theory]
    [InlineData("%2e%2e")]
    [InlineData("%2E%2E")]
    [InlineData("..")]
    [InlineData(".")]
    public async Task A_dot_tag_is_a_bad_tag_not_another_route(string tag)
    {
        var (status, _, body) = await Registry.SendRawAsync("PUT", $"/v2/names/dots/manifests/{tag}", Json.Bytes(Json.ImageManifest(MediaType.OciManifest,
            Blob.Empty.Descriptor(MediaType.OciConfig), [])), "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n");
        AssertError(status, body, 400, "TAG_INVALID");
        // As for every tag that cannot exist, reads answer MANIFEST_UNKNOWN (the OCI conformance suite's expectation).
        (status, _, body) = await Registry.SendRawAsync("GET", $"/v2/names/dots/manifests/{tag}");
        AssertError(status, body, 404, "MANIFEST_UNKNOWN");
        (status, _, body) = await Registry.SendRawAsync("DELETE", $"/v2/names/dots/manifests/{tag}");
        AssertError(status, body, 404, "MANIFEST_UNKNOWN");
    }

    [Theory]
    [InlineData("/v2/../api/v1/me", 404)]
    [InlineData("/v2/%2e%2e/api/v1/me", 404)]
    [InlineData("/v2/../v1/search?q=a", 404)]
    [InlineData("/v2/../token?scope=repository:a:pull", 404)]
    [InlineData("/api/v1/../../token?scope=repository:a:pull", 401)]
    public async Task Dot_segments_do_not_lead_to_another_surface(string target, int expected)
    {
        var (status, head, body) = await Registry.SendRawAsync("GET", target);
        Assert.True(status == expected, $"{target} answered {status}: {head}\n{body}");
        Assert.DoesNotContain("\"token\":", body);
    }

    [Fact]
    public async Task Escaped_characters_of_the_grammar_still_route()
    {
        var blob = Blob.Random(50);
        var (status, _, body) = await Registry.SendRawAsync("POST", $"/v2/names/%65scaped/blobs/uploads/?digest={blob.Digest}", blob.Content);
        Assert.True(status == 201, body);
        (status, _, body) = await Registry.SendRawAsync("HEAD", $"/v2/names/escaped/blobs/{blob.Digest.Replace(":", "%3A")}");
        Assert.True(status == 200, body);
    }
}
