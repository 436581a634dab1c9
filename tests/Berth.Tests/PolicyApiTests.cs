using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Berth.Core.Policies;
using Berth.Tests.Access;
using Berth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests;

/// <summary>
/// The policy API end to end with authentication on: who may set which policy, immutable tags and quotas refused on
/// the registry API with their messages, usage, pull statistics in the tag listing, retention (dry run, then for real),
/// scrub quarantining a blob damaged on disk.
/// </summary>
public sealed class PolicyApiTests(AuthServer server) : IClassFixture<AuthServer>
{
    private async Task<(RegistryClient Owner, RegistryClient Other)> AccountsAsync(string org)
    {
        using var admin = server.Admin();
        foreach (var u in new[] { org + "-owner", org + "-other" })
        {
            await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", $$"""{"name":"{{u}}","password":"{{u}}-password"}""", HttpStatusCode.Created);
        }
        var owner = server.As(org + "-owner", org + "-owner-password");
        await AuthServer.ApiAsync(owner, HttpMethod.Post, "orgs", $$"""{"name":"{{org}}"}""", HttpStatusCode.Created);
        return (owner, server.As(org + "-other", org + "-other-password"));
    }

    private static async Task<(HttpStatusCode Status, string Body)> PutManifestAsync(RegistryClient client, string repository, string tag, Image image)
    {
        var content = new ByteArrayContent(image.Manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(image.MediaType);
        using var r = await client.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/{tag}", content);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ImmutableTagsAndTheirRights()
    {
        var (owner, other) = await AccountsAsync("immu");
        using var _ = owner;
        using var __ = other;
        var first = await owner.PushImageAsync("immu/app", "1.0");
        var second = await owner.PushImageAsync("immu/app");
        await AuthServer.ApiAsync(other, HttpMethod.Put, "namespaces/immu/policies/immutable-tags", """{"patterns":["1.*"]}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(other, HttpMethod.Get, "namespaces/immu/policies/immutable-tags", expect: HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(owner, HttpMethod.Get, "namespaces/immu/policies/immutable-tags", expect: HttpStatusCode.NotFound);
        await AuthServer.ApiAsync(owner, HttpMethod.Put, "namespaces/immu/policies/immutable-tags", """{"patterns":["1.*"],"exept":[]}""", HttpStatusCode.BadRequest);
        var stored = await AuthServer.ApiAsync(owner, HttpMethod.Put, "namespaces/immu/policies/immutable-tags", """{ "patterns": ["1.*"] }""");
        Assert.Equal("""{"patterns":["1.*"]}""", stored!.Value.GetRawText());

        var (status, body) = await PutManifestAsync(owner, "immu/app", "1.0", second);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("\"code\":\"DENIED\"", body);
        Assert.Contains("tag 1.0 of immu/app is immutable (pattern \\\"1.*\\\" of the immutable-tags policy of namespace immu)", body);
        Assert.Equal(HttpStatusCode.Created, (await PutManifestAsync(owner, "immu/app", "1.0", first)).Status);
        using (var delete = await owner.DeleteAsync("/v2/immu/app/manifests/1.0")) Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        using (var delete = await owner.DeleteAsync($"/v2/immu/app/manifests/{first.Digest}")) Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);

        // A repository rule; the namespace rule removed lets 1.0 move.
        await AuthServer.ApiAsync(owner, HttpMethod.Put, "repository-policies/immutable-tags/immu/app", """{"patterns":["*"],"except":["latest"]}""");
        Assert.Equal(HttpStatusCode.Created, (await PutManifestAsync(owner, "immu/app", "latest", first)).Status);
        Assert.Equal(HttpStatusCode.Created, (await PutManifestAsync(owner, "immu/app", "latest", second)).Status);
        await AuthServer.ApiAsync(owner, HttpMethod.Delete, "repository-policies/immutable-tags/immu/app", expect: HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(owner, HttpMethod.Delete, "namespaces/immu/policies/immutable-tags", expect: HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.Created, (await PutManifestAsync(owner, "immu/app", "1.0", second)).Status);
    }

    [Fact]
    public async Task AQuotaIsSetBySiteAdminsAndRefusesPushesNamingQuotaAndUsage()
    {
        var (owner, other) = await AccountsAsync("quot");
        using var _ = owner;
        using var __ = other;
        using var admin = server.Admin();
        var image = await owner.PushImageAsync("quot/app", "1");
        var usage = await AuthServer.ApiAsync(owner, HttpMethod.Get, "namespaces/quot/usage");
        var held = image.Config.Size + image.Layer.Size + image.Manifest.Length;
        Assert.Equal(held, usage!.Value.GetProperty("bytes").GetInt64());
        await AuthServer.ApiAsync(other, HttpMethod.Get, "namespaces/quot/usage", expect: HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(owner, HttpMethod.Put, "namespaces/quot/policies/quota", $$"""{"bytes":{{held + 10}}}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(admin, HttpMethod.Put, "namespaces/quot/policies/quota", $$"""{"bytes":{{held + 10}}}""");
        Assert.Equal(held + 10, (await AuthServer.ApiAsync(owner, HttpMethod.Get, "namespaces/quot/usage"))!.Value.GetProperty("quota").GetInt64());

        // A blob of 100 bytes does not fit; the same image in another repository of the namespace does (counted once).
        var blob = Blob.Random(100);
        using var refused = await owner.SendAsync(HttpMethod.Post, $"/v2/quot/other/blobs/uploads/?digest={blob.Digest}", new ByteArrayContent(blob.Content));
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("quota exceeded: namespace quot has a quota of ", body);
        Assert.Contains($" ({held + 10} bytes) and uses ", body);
        Assert.Contains($" ({held} bytes); this blob of 100 bytes does not fit", body);
        using (var mount = await owner.SendAsync(HttpMethod.Post, $"/v2/quot/copy/blobs/uploads/?mount={image.Layer.Digest}&from=quot/app"))
        {
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        }
        var events = server.Services.GetRequiredService<Berth.Core.Metadata.IEventLog>();
        Assert.Contains(await events.ReadAfterAsync(0, 1000, default), e => e.Kind == "quota.exceeded" && e.Repository == "quot/other");
        await AuthServer.ApiAsync(admin, HttpMethod.Delete, "namespaces/quot/policies/quota", expect: HttpStatusCode.NoContent);
        await owner.PushBlobAsync("quot/other", blob);
    }

    [Fact]
    public async Task PullsRetentionAndScrub()
    {
        var (owner, other) = await AccountsAsync("keep");
        using var _ = owner;
        using var __ = other;
        using var admin = server.Admin();
        var old = await owner.PushImageAsync("keep/app", "old");
        await owner.PushImageAsync("keep/app", "mid");
        await owner.PushImageAsync("keep/app", "new");
        for (var i = 0; i < 2; i++)
        {
            using var pull = await owner.GetAsync("/v2/keep/app/manifests/old", old.MediaType);
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        }
        using (var head = await owner.HeadAsync("/v2/keep/app/manifests/old", old.MediaType)) Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        await server.Services.GetRequiredService<PullStatistics>().FlushAsync(default);
        var tags = (await AuthServer.ApiAsync(owner, HttpMethod.Get, "tags/keep/app"))!.Value.EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(2, tags["old"].GetProperty("pullCount").GetInt64());
        Assert.Equal(old.Digest, tags["old"].GetProperty("digest").GetString());
        Assert.Equal(0, tags["new"].GetProperty("pullCount").GetInt64());
        Assert.False(tags["new"].TryGetProperty("lastPulled", out var _));
        await AuthServer.ApiAsync(other, HttpMethod.Get, "tags/keep/app", expect: HttpStatusCode.NotFound);

        await AuthServer.ApiAsync(owner, HttpMethod.Put, "namespaces/keep/policies/retention", """{"keepLast":1,"protect":["mid"]}""");
        await AuthServer.ApiAsync(other, HttpMethod.Post, "namespaces/keep/retention?dryRun=true", expect: HttpStatusCode.Forbidden);
        var dry = await AuthServer.ApiAsync(owner, HttpMethod.Post, "namespaces/keep/retention?dryRun=true");
        Assert.Equal(["old"], dry!.Value.GetProperty("removed").EnumerateArray().Select(r => r.GetProperty("tag").GetString()));
        Assert.Equal(3, (await AuthServer.ApiAsync(owner, HttpMethod.Get, "tags/keep/app"))!.Value.GetArrayLength());
        var run = await AuthServer.ApiAsync(owner, HttpMethod.Post, "retention/keep/app");
        Assert.False(run!.Value.GetProperty("dryRun").GetBoolean());
        Assert.Equal(["mid", "new"], (await AuthServer.ApiAsync(owner, HttpMethod.Get, "tags/keep/app"))!.Value.EnumerateArray().Select(t => t.GetProperty("name").GetString()));

        // Scrub: a clean store, then a layer damaged on disk is quarantined and refused.
        await AuthServer.ApiAsync(owner, HttpMethod.Post, "scrub", expect: HttpStatusCode.Forbidden);
        var clean = await AuthServer.ApiAsync(admin, HttpMethod.Post, "scrub");
        Assert.True(clean!.Value.GetProperty("blobs").GetInt32() >= 6);
        Assert.Equal(0, clean.Value.GetProperty("damaged").GetArrayLength());
        var hex = old.Layer.Digest["sha256:".Length..];
        var file = Path.Combine(server.DataDirectory, "blobs", "sha256", hex[..2], hex);
        var bytes = File.ReadAllBytes(file);
        bytes[10] ^= 0xff;
        File.WriteAllBytes(file, bytes);
        var scrub = await AuthServer.ApiAsync(admin, HttpMethod.Post, "scrub");
        var damaged = Assert.Single(scrub!.Value.GetProperty("damaged").EnumerateArray());
        Assert.Equal(old.Layer.Digest, damaged.GetProperty("digest").GetString());
        Assert.StartsWith("content hashes to sha256:", damaged.GetProperty("problem").GetString());
        using (var get = await owner.GetAsync($"/v2/keep/app/blobs/{old.Layer.Digest}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
            Assert.Contains("is quarantined", await get.Content.ReadAsStringAsync());
        }
        Assert.Single((await AuthServer.ApiAsync(admin, HttpMethod.Get, "quarantine"))!.Value.EnumerateArray());
        bytes[10] ^= 0xff;
        File.WriteAllBytes(file, bytes);
        Assert.Equal(1, (await AuthServer.ApiAsync(admin, HttpMethod.Post, "scrub"))!.Value.GetProperty("released").GetInt32());
        using (var get = await owner.GetAsync($"/v2/keep/app/blobs/{old.Layer.Digest}")) Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }
}
