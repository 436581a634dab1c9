using System.Net;
using System.Text.RegularExpressions;
using Berth.Tests.Support;

namespace Berth.Tests.Access;

/// <summary>The rules around the matrix: private looks like missing, Basic on /v2, the open mode, management rights, the audit log.</summary>
public sealed class AccessRulesTests(MatrixServer server) : IClassFixture<MatrixServer>
{
    /// <summary>Status, error code and body, with the repository name taken out.</summary>
    private static async Task<string> Shape(HttpResponseMessage r, string name) =>
        $"{(int)r.StatusCode} {r.Headers.WwwAuthenticate} {Regex.Replace(RequestIds.Masked(await r.Content.ReadAsStringAsync()), Regex.Escape(name), "NAME")}".Replace(name, "NAME");

    [Theory]
    [InlineData(null, null)]
    [InlineData("oscar", "oscar-password")]
    public async Task APrivateRepositoryAnswersExactlyLikeAMissingOne(string? user, string? password)
    {
        using var http = user is null ? server.NewClient() : server.As(user, password!);
        var image = server.Images["private"];
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/v2/{0}/manifests/1"),
            (HttpMethod.Head, "/v2/{0}/manifests/1"),
            (HttpMethod.Get, $"/v2/{{0}}/manifests/{image.Digest}"),
            (HttpMethod.Get, $"/v2/{{0}}/blobs/{image.Layer.Digest}"),
            (HttpMethod.Head, $"/v2/{{0}}/blobs/{image.Layer.Digest}"),
            (HttpMethod.Get, "/v2/{0}/tags/list"),
            (HttpMethod.Get, $"/v2/{{0}}/referrers/{image.Digest}"),
            (HttpMethod.Post, "/v2/{0}/blobs/uploads/"),
            (HttpMethod.Delete, "/v2/{0}/manifests/1"),
        })
        {
            using var existing = await http.SendAsync(method, string.Format(path, "acme/private"));
            using var missing = await http.SendAsync(method, string.Format(path, "acme/no-such-repo"));
            Assert.True((int)existing.StatusCode is 401 or 403, $"{method} {path}: {(int)existing.StatusCode}");
            Assert.Equal(await Shape(missing, "acme/no-such-repo"), await Shape(existing, "acme/private"));
        }
    }

    [Fact]
    public async Task BasicCredentialsWorkOnV2AndASignedInCallerWithoutRightsGets403()
    {
        using var olive = server.As("olive", "olive-password");
        using var pulled = await olive.GetAsync("/v2/acme/private/manifests/1");
        Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        using var oscar = server.As("oscar", "oscar-password");
        using var denied = await oscar.GetAsync("/v2/acme/private/manifests/1");
        await denied.AssertErrorAsync(HttpStatusCode.Forbidden, "DENIED");
        using var wrong = server.As("olive", "not-her-password");
        using var refused = await wrong.GetAsync("/v2/acme/public/manifests/1");
        await refused.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.StartsWith("Bearer realm=\"http://127.0.0.1:", refused.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task TheBaseEndpointChallengesAnonymousCallersAndWelcomesSignedInOnes()
    {
        using var anonymous = server.NewClient();
        using var r = await anonymous.GetAsync("/v2/");
        await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var challenge = DockerFlowClient.Parse(r.Headers.WwwAuthenticate.Single().Parameter!);
        Assert.Equal($"{anonymous.BaseAddress.GetLeftPart(UriPartial.Authority)}/token", challenge["realm"]);
        Assert.Equal("berth", challenge["service"]);
        using var olive = server.As("olive", "olive-password");
        using var ok = await olive.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task NewRepositoriesArePrivateUnlessTheNamespaceSaysOtherwise()
    {
        using var oscar = server.As("oscar", "oscar-password");
        await oscar.PushImageAsync("oscar/first", "1");
        using var anonymous = server.NewClient();
        using (var r = await anonymous.GetAsync("/v2/oscar/first/manifests/1")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        await AuthServer.ApiAsync(oscar, HttpMethod.Put, "namespaces/oscar", """{"defaultVisibility":"public"}""", HttpStatusCode.NoContent);
        await oscar.PushImageAsync("oscar/second", "1");
        using (var r = await anonymous.GetAsync("/v2/oscar/second/manifests/1")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        // The repository created before the change keeps the visibility it had.
        using (var r = await anonymous.GetAsync("/v2/oscar/first/manifests/1")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        // A name that does not exist in a public namespace still answers like a private one.
        using (var r = await anonymous.GetAsync("/v2/oscar/never-pushed/manifests/1")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
    }

    [Fact]
    public async Task OnlyTheNamespacesWritersCreateRepositoriesInIt()
    {
        using var oscar = server.As("oscar", "oscar-password");
        using var r = await oscar.SendAsync(HttpMethod.Post, "/v2/olive/sneaky/blobs/uploads/");
        await r.AssertErrorAsync(HttpStatusCode.Forbidden, "DENIED");
        using var root = await oscar.SendAsync(HttpMethod.Post, "/v2/toplevel/blobs/uploads/");
        await root.AssertErrorAsync(HttpStatusCode.Forbidden, "DENIED");
        using var admin = server.Admin();
        await admin.PushImageAsync("toplevel", "1");
    }

    [Fact]
    public async Task ManagementNeedsTheRightRole()
    {
        using var oscar = server.As("oscar", "oscar-password");
        await AuthServer.ApiAsync(oscar, HttpMethod.Post, "users", """{"name":"mallory","password":"mallory-password"}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(oscar, HttpMethod.Put, "repositories/acme/private", """{"visibility":"public"}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(oscar, HttpMethod.Put, "namespaces/acme/grants", """{"subject":"user:oscar","role":"admin"}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(oscar, HttpMethod.Post, "orgs/acme/teams", """{"name":"mine"}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(oscar, HttpMethod.Get, "audit", null, HttpStatusCode.Forbidden);
        // A team writer may push but not change settings: that takes admin.
        using var walt = server.As("walt", "walt-password");
        await AuthServer.ApiAsync(walt, HttpMethod.Put, "repositories/acme/private", """{"visibility":"public"}""", HttpStatusCode.Forbidden);
        // A restricted token cannot manage anything, even for its own user.
        var token = await AuthServer.ApiAsync(walt, HttpMethod.Post, "accounts/walt/tokens", """{"name":"ci","scopes":["acme/*:pull"]}""", HttpStatusCode.Created);
        using var viaToken = server.As("walt", token!.Value.GetProperty("token").GetString()!);
        await AuthServer.ApiAsync(viaToken, HttpMethod.Post, "accounts/walt/tokens", """{"name":"more","scopes":["*:pull,push"]}""", HttpStatusCode.Forbidden);
        // Anonymous management calls are asked to sign in.
        using var anonymous = server.NewClient();
        await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "me", null, HttpStatusCode.Unauthorized);
        // Bad input is a 400 with a message, not a 500.
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", "{not json", HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"UPPER","password":"long-enough"}""", HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"shorty","password":"short"}""", HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"olive","password":"long-enough"}""", HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ATokenIsShownOnceAndStoredHashed()
    {
        using var rita = server.As("rita", "rita-password");
        var created = await AuthServer.ApiAsync(rita, HttpMethod.Post, "accounts/rita/tokens", """{"name":"laptop","scopes":["acme/*:pull"],"expiresIn":"1d"}""", HttpStatusCode.Created);
        var secret = created!.Value.GetProperty("token").GetString()!;
        Assert.StartsWith("berth_", secret);
        var listed = await AuthServer.ApiAsync(rita, HttpMethod.Get, "accounts/rita/tokens");
        Assert.DoesNotContain(secret, listed!.Value.ToString());
        Assert.All(listed.Value.EnumerateArray(), t => Assert.False(t.TryGetProperty("token", out _)));
        var database = await File.ReadAllBytesAsync(Path.Combine(server.DataDirectory, "berth.db"));
        var wal = Path.Combine(server.DataDirectory, "berth.db-wal");
        var all = System.Text.Encoding.ASCII.GetString(database) + (File.Exists(wal) ? System.Text.Encoding.ASCII.GetString(await File.ReadAllBytesAsync(wal)) : "");
        Assert.DoesNotContain(secret, all);
        Assert.DoesNotContain("rita-password", all);
    }

    [Fact]
    public async Task TheAuditLogRecordsSignInsPushesAndChanges()
    {
        using var walt = server.As("walt", "walt-password");
        await walt.PushImageAsync("acme/audited", "v1");
        using var bad = server.As("walt", "bad-password-for-audit");
        using (await bad.GetAsync("/v2/")) { }
        using var admin = server.Admin();
        var events = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "audit?actor=walt&limit=1000"))!.Value.EnumerateArray().ToList();
        Assert.Contains(events, e => e.GetProperty("action").GetString() == "push" && e.GetProperty("target").GetString() == "acme/audited:v1");
        Assert.Contains(events, e => e.GetProperty("action").GetString() == "login" && e.GetProperty("success").GetBoolean());
        Assert.Contains(events, e => e.GetProperty("action").GetString() == "login" && !e.GetProperty("success").GetBoolean());
        var grants = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "audit?action=grant"))!.Value.EnumerateArray().ToList();
        Assert.Contains(grants, e => e.GetProperty("actor").GetString() == "olive" && e.GetProperty("detail").GetString() == "team:acme/writers write");
        Assert.DoesNotContain("bad-password-for-audit", (await AuthServer.ApiAsync(admin, HttpMethod.Get, "audit?limit=1000"))!.Value.ToString());
    }
}

/// <summary>With no user the registry is open, as registry:2 is; the first user turns authentication on.</summary>
public sealed class OpenModeTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    [Fact]
    public async Task TheFirstUserTurnsAuthenticationOn()
    {
        using var anonymous = server.NewClient();
        await anonymous.PushImageAsync("library/open", "1");
        using (var r = await anonymous.GetAsync("/v2/_catalog")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        // The CLI's way: straight into the database, the running server notices within seconds.
        var services = server.Services;
        var accounts = (Core.Access.Administration)services.GetService(typeof(Core.Access.Administration))!;
        await accounts.CreateUserAsync(Core.Access.AccountRules.Operator, "first", "first-password", admin: true, default);
        using (var r = await anonymous.GetAsync("/v2/")) await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        using (var r = await anonymous.SendAsync(HttpMethod.Post, "/v2/library/open/blobs/uploads/")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        // What was pushed anonymously is private now, until someone says otherwise.
        using (var r = await anonymous.GetAsync("/v2/library/open/manifests/1")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using var first = server.NewClient();
        first.Authorization = RegistryClient.Basic("first", "first-password");
        using (var r = await first.GetAsync("/v2/library/open/manifests/1")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }
}
