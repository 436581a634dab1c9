using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Configuration;
using Berth.Core.Access;
using Berth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Tests.Access;

/// <summary>A server with authentication on: the admin is created at start, as BERTH_ADMIN_PASSWORD does.</summary>
public class AuthServer : RegistryServer
{
    public const string AdminPassword = "admin-password";

    protected override BerthOptions Configure(BerthOptions options) => options with { Auth = options.Auth with { AdminPassword = AdminPassword, LoginMaxFailures = 1000 } };

    internal RegistryClient As(string user, string password)
    {
        var client = NewClient();
        client.Authorization = RegistryClient.Basic(user, password);
        return client;
    }

    internal RegistryClient Admin() => As("admin", AdminPassword);

    /// <summary>Calls the management API and asserts the expected status; returns the JSON body when there is one.</summary>
    internal static async Task<JsonElement?> ApiAsync(RegistryClient client, HttpMethod method, string path, string? json = null, HttpStatusCode expect = HttpStatusCode.OK)
    {
        using var r = await client.SendAsync(method, "/api/v1/" + path, json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expect, $"{method} /api/v1/{path}: {(int)r.StatusCode} {body}");
        return body.Length > 0 ? JsonDocument.Parse(body).RootElement.Clone() : null;
    }
}

/// <summary>
/// What a Docker client does. Signed in, it asks the token endpoint for the scopes the operation needs before the
/// request (a refused sign-in ends there); anonymous, it tries, and on a 401 asks for the scope the challenge names.
/// Either way it retries once with the bearer token.
/// </summary>
internal sealed class DockerFlowClient(RegistryClient http, string? user, string? secret)
{
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string[] scopes, Func<HttpContent?>? content = null)
    {
        if (user is null)
        {
            var first = await http.SendAsync(new HttpRequestMessage(method, http.Url(path)) { Content = content?.Invoke() });
            if (first.StatusCode != HttpStatusCode.Unauthorized) return first;
            var challenge = Parse(first.Headers.WwwAuthenticate.Single().Parameter!);
            scopes = challenge.TryGetValue("scope", out var asked) ? [asked] : [];
        }
        var query = "?service=berth" + string.Concat(scopes.Select(s => "&scope=" + Uri.EscapeDataString(s)));
        var tokenRequest = new HttpRequestMessage(HttpMethod.Get, http.Url("/token" + query));
        if (user is not null) tokenRequest.Headers.Authorization = RegistryClient.Basic(user, secret!);
        var tokenResponse = await http.SendAsync(tokenRequest);
        if (tokenResponse.StatusCode != HttpStatusCode.OK) return tokenResponse;
        var token = (await tokenResponse.JsonAsync()).GetProperty("token").GetString();
        var request = new HttpRequestMessage(method, http.Url(path)) { Content = content?.Invoke() };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    public static Dictionary<string, string> Parse(string parameter)
    {
        var result = new Dictionary<string, string>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(parameter, "(\\w+)=\"([^\"]*)\""))
        {
            result[m.Groups[1].Value] = m.Groups[2].Value;
        }
        return result;
    }
}

/// <summary>
/// The matrix's world: organisation acme owned by olive, team readers (read on the namespace) with rita, team
/// writers (write) with walt, an outsider oscar, a pull-only robot acme+ci, and three of walt's tokens: expired,
/// revoked, and one for another repository. acme/private and acme/public hold an image each; acme/hidden holds a
/// blob no other repository links.
/// </summary>
public sealed class MatrixServer : AuthServer
{
    internal readonly Dictionary<string, (string? User, string? Secret)> Callers = new();
    internal readonly Dictionary<string, Image> Images = new();
    internal Blob Hidden { get; private set; } = Blob.Random(10);

    public override async Task InitializeAsync()
    {
        await StartAsync();
        using var admin = Admin();
        foreach (var u in new[] { "olive", "rita", "walt", "oscar" })
        {
            await ApiAsync(admin, HttpMethod.Post, "users", $$"""{"name":"{{u}}","password":"{{u}}-password"}""", HttpStatusCode.Created);
        }
        using var olive = As("olive", "olive-password");
        await ApiAsync(olive, HttpMethod.Post, "orgs", """{"name":"acme"}""", HttpStatusCode.Created);
        foreach (var (team, member, role) in new[] { ("readers", "rita", "read"), ("writers", "walt", "write") })
        {
            await ApiAsync(olive, HttpMethod.Post, "orgs/acme/teams", $$"""{"name":"{{team}}"}""", HttpStatusCode.Created);
            await ApiAsync(olive, HttpMethod.Put, $"orgs/acme/teams/{team}/members/{member}", null, HttpStatusCode.NoContent);
            await ApiAsync(olive, HttpMethod.Put, "namespaces/acme/grants", $$"""{"subject":"team:acme/{{team}}","role":"{{role}}"}""", HttpStatusCode.NoContent);
        }
        Images["private"] = await olive.PushImageAsync("acme/private", "1");
        Images["public"] = await olive.PushImageAsync("acme/public", "1");
        await ApiAsync(olive, HttpMethod.Put, "repositories/acme/public", """{"visibility":"public"}""", HttpStatusCode.NoContent);
        await olive.PushBlobAsync("acme/hidden", Hidden);

        await ApiAsync(olive, HttpMethod.Post, "namespaces/acme/robots", """{"name":"ci"}""", HttpStatusCode.Created);
        var robot = await ApiAsync(olive, HttpMethod.Post, "accounts/acme+ci/tokens", """{"name":"ci","scopes":["acme/*:pull"]}""", HttpStatusCode.Created);
        using var walt = As("walt", "walt-password");
        var other = await ApiAsync(walt, HttpMethod.Post, "accounts/walt/tokens", """{"name":"other","scopes":["acme/other:pull,push"]}""", HttpStatusCode.Created);
        var revoked = await ApiAsync(walt, HttpMethod.Post, "accounts/walt/tokens", """{"name":"gone","scopes":["*:pull,push,delete"]}""", HttpStatusCode.Created);
        await ApiAsync(walt, HttpMethod.Delete, "tokens/" + revoked!.Value.GetProperty("id").GetString(), null, HttpStatusCode.NoContent);
        // The API refuses to create an expired token; the store takes one as if it had been created long ago.
        var (id, secret, hash) = Secrets.NewToken();
        var now = DateTimeOffset.UtcNow;
        await Services.GetRequiredService<ITokens>().CreateTokenAsync(
            new AccessToken(id, "walt", "expired", hash, [new TokenScope("*", RepoActions.All)], now.AddDays(-2), now.AddDays(-1), null), default);

        Callers["anonymous"] = (null, null);
        Callers["owner"] = ("olive", "olive-password");
        Callers["team reader"] = ("rita", "rita-password");
        Callers["team writer"] = ("walt", "walt-password");
        Callers["other user"] = ("oscar", "oscar-password");
        Callers["pull-only robot"] = ("acme+ci", robot!.Value.GetProperty("token").GetString());
        Callers["expired token"] = ("walt", secret);
        Callers["revoked token"] = ("walt", revoked.Value.GetProperty("token").GetString());
        Callers["token for another repository"] = ("walt", other!.Value.GetProperty("token").GetString());
    }
}
