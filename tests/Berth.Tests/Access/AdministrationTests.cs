using System.Net;
using Berth.Core.Access;
using Berth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests.Access;

/// <summary>Site administrators made and unmade, repository settings for anonymous callers, the token-scope rule.</summary>
public sealed class AdministrationTests(MatrixServer server) : IClassFixture<MatrixServer>
{
    [Fact]
    public async Task ASiteAdministratorMakesAnotherAndTheLastOneStays()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"carol","password":"carol-password"}""", HttpStatusCode.Created);
        using var carol = server.As("carol", "carol-password");
        await AuthServer.ApiAsync(carol, HttpMethod.Get, "users", expect: HttpStatusCode.Forbidden);
        // Only site administrators may.
        await AuthServer.ApiAsync(carol, HttpMethod.Put, "users/carol", """{"admin":true}""", HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(admin, HttpMethod.Put, "users/carol", """{"admin":"yes"}""", HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Put, "users/nobody-here", """{"admin":true}""", HttpStatusCode.NotFound);
        await AuthServer.ApiAsync(admin, HttpMethod.Put, "users/acme", """{"admin":true}""", HttpStatusCode.NotFound);

        await AuthServer.ApiAsync(admin, HttpMethod.Put, "users/carol", """{"admin":true}""", HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(carol, HttpMethod.Get, "users");
        Assert.True((await AuthServer.ApiAsync(carol, HttpMethod.Get, "me"))!.Value.GetProperty("admin").GetBoolean());
        await AuthServer.ApiAsync(carol, HttpMethod.Put, "users/carol", """{"admin":false}""", HttpStatusCode.NoContent);
        await AuthServer.ApiAsync(carol, HttpMethod.Get, "users", expect: HttpStatusCode.Forbidden);

        var events = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "audit?action=user.admin&target=carol"))!.Value.EnumerateArray().ToList();
        Assert.Equal(["off", "on"], events.Select(e => e.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task TheLastSiteAdministratorCannotStepDown()
    {
        var accounts = server.Services.GetRequiredService<Administration>();
        var admins = (await accounts.ListAccountsAsync(AccountRules.Operator, AccountKind.User, default)).Where(a => a.IsAdmin).ToList();
        Assert.Equal("admin", Assert.Single(admins).Name);
        using var admin = server.Admin();
        using var r = await admin.SendAsync(HttpMethod.Put, "/api/v1/users/admin", new StringContent("""{"admin":false}""", System.Text.Encoding.UTF8, "application/json"));
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        Assert.Contains("admin is the last site administrator", body);
    }

    [Fact]
    public async Task AnonymousCallersReadAPublicRepositorysSettingsAndAPrivateOneIsMissing()
    {
        using var anonymous = server.NewClient();
        var settings = await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "repositories/acme/public");
        Assert.Equal("public", settings!.Value.GetProperty("visibility").GetString());
        using var hidden = await anonymous.GetAsync("/api/v1/repositories/acme/private");
        using var missing = await anonymous.GetAsync("/api/v1/repositories/acme/no-such-repo");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal((missing.StatusCode, RequestIds.Masked(await missing.Content.ReadAsStringAsync()).Replace("no-such-repo", "X")),
            (hidden.StatusCode, RequestIds.Masked(await hidden.Content.ReadAsStringAsync()).Replace("private", "X")));
        // Grants and changes still need a sign-in.
        await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "repositories/acme/public/grants", expect: HttpStatusCode.Unauthorized);
        await AuthServer.ApiAsync(anonymous, HttpMethod.Put, "repositories/acme/public", """{"visibility":"private"}""", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATokenWithoutScopesIsRefused()
    {
        using var walt = server.As("walt", "walt-password");
        foreach (var body in new[] { """{"name":"x"}""", """{"name":"x","scopes":[]}""" })
        {
            var error = await AuthServer.ApiAsync(walt, HttpMethod.Post, "accounts/walt/tokens", body, HttpStatusCode.BadRequest);
            Assert.Contains("a token needs at least one scope", error!.Value.ToString());
        }
        await AuthServer.ApiAsync(walt, HttpMethod.Post, "accounts/walt/tokens", """{"name":"all","scopes":["*:*"]}""", HttpStatusCode.Created);
    }
}

/// <summary>With no user, anyone may pull anything: search says so.</summary>
public sealed class OpenModeSearchTests(RegistryServer server) : IClassFixture<RegistryServer>
{
    [Fact]
    public async Task SearchLabelsRepositoriesPublicWhileAuthenticationIsOff()
    {
        using var anonymous = server.NewClient();
        await anonymous.PushImageAsync("team/app", "1");
        var found = await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "search?q=team");
        var entry = Assert.Single(found!.Value.EnumerateArray());
        Assert.Equal(("team/app", "public"), (entry.GetProperty("name").GetString(), entry.GetProperty("visibility").GetString()));
        var settings = await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "repositories/team/app");
        Assert.Equal("public", settings!.Value.GetProperty("visibility").GetString());
    }
}
