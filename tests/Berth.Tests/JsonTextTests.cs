using System.Net;
using Berth.Tests.Access;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary>JSON answers are written as people and other registries write them: no HTML escaping of + ' &lt; &gt; &amp;.</summary>
public sealed class JsonTextTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    private RegistryClient Registry => server.Client;

    [Fact]
    public async Task A_referrers_index_names_its_media_type_literally()
    {
        var image = await Registry.PushImageAsync("json/text", "1");
        using var r = await Registry.GetAsync($"/v2/json/text/referrers/{image.Digest}");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("\"mediaType\":\"application/vnd.oci.image.index.v1+json\"", text);
        Assert.DoesNotContain("\\u00", text);
    }

    [Fact]
    public async Task An_error_body_keeps_plus_quote_and_angle_brackets_and_escapes_what_JSON_requires()
    {
        using var r = await Registry.GetAsync("/v2/a+b'<c>&d/tags/list");
        var error = await r.AssertErrorAsync(HttpStatusCode.BadRequest, "NAME_INVALID");
        Assert.Equal("a+b'<c>&d", error.GetProperty("detail").GetProperty("name").GetString());
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("\"name\":\"a+b'<c>&d\"", text);
        Assert.DoesNotContain("\\u00", text);

        using var quoted = await Registry.SendAsync(HttpMethod.Put, "/v2/json/text/manifests/bad!tag", RegistryClient.Bytes("{}"u8.ToArray(), contentType: MediaType.OciManifest));
        await quoted.AssertErrorAsync(HttpStatusCode.BadRequest, "TAG_INVALID");
        Assert.Contains("invalid tag \\\"bad!tag\\\"", await quoted.Content.ReadAsStringAsync());
    }
}

public sealed class ManagementJsonTextTests(AuthServer server) : IClassFixture<AuthServer>
{
    [Fact]
    public async Task Management_answers_keep_a_robots_plus_literally()
    {
        using var admin = server.Admin();
        using var r = await admin.SendAsync(HttpMethod.Post, "/api/v1/namespaces/admin/robots", new StringContent("""{"name":"ci"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("\"name\":\"admin+ci\"", text);
        Assert.DoesNotContain("\\u00", text);
    }
}
