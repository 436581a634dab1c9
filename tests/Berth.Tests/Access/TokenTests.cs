using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Auth;
using Berth.Tests.Support;

namespace Berth.Tests.Access;

/// <summary>Bearer tokens: the good one works, and every kind of forgery or expiry is refused with 401 invalid_token.</summary>
public sealed class TokenTests(AuthServer server) : IClassFixture<AuthServer>, IAsyncLifetime
{
    private const string Repo = "admin/tokens";
    private Image _image = null!;

    public async Task InitializeAsync()
    {
        using var admin = server.Admin();
        _image = await admin.PushImageAsync(Repo, "1");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<string> TokenAsync(string scope, string user = "admin", string password = AuthServer.AdminPassword)
    {
        using var http = server.NewClient();
        var request = new HttpRequestMessage(HttpMethod.Get, http.Url($"/token?service=berth&scope={Uri.EscapeDataString(scope)}"));
        request.Headers.Authorization = RegistryClient.Basic(user, password);
        using var r = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("no-store", r.Headers.CacheControl?.ToString());
        var body = await r.JsonAsync();
        Assert.Equal(body.GetProperty("token").GetString(), body.GetProperty("access_token").GetString());
        Assert.InRange(body.GetProperty("expires_in").GetInt32(), 60, 3600);
        return body.GetProperty("token").GetString()!;
    }

    private async Task<HttpResponseMessage> PullWith(string token)
    {
        using var http = server.NewClient();
        var request = new HttpRequestMessage(HttpMethod.Get, http.Url($"/v2/{Repo}/manifests/1"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    private async Task AssertRefused(string token)
    {
        using var r = await PullWith(token);
        await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("error=\"invalid_token\"", r.Headers.WwwAuthenticate.ToString());
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Unb64(string s) => Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/').PadRight(s.Length + (4 - s.Length % 4) % 4, '='));

    [Fact]
    public async Task AValidTokenPulls()
    {
        using var r = await PullWith(await TokenAsync($"repository:{Repo}:pull"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(_image.Digest, r.Header("Docker-Content-Digest"));
    }

    [Fact]
    public async Task TheAccessClaimListsOnlyWhatWasAskedAndAllowed()
    {
        var token = await TokenAsync($"repository:{Repo}:pull");
        var payload = JsonNode.Parse(Unb64(token.Split('.')[1]))!;
        var access = Assert.Single(payload["access"]!.AsArray());
        Assert.Equal(Repo, (string?)access!["name"]);
        Assert.Equal(["pull"], access["actions"]!.AsArray().Select(a => (string?)a));
        // With pull only, a push is refused with the challenge that names the missing scope.
        using var http = server.NewClient();
        var request = new HttpRequestMessage(HttpMethod.Post, http.Url($"/v2/{Repo}/blobs/uploads/"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var r = await http.SendAsync(request);
        await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains($"scope=\"repository:{Repo}:pull,push\"", r.Headers.WwwAuthenticate.ToString());
        Assert.Contains("error=\"insufficient_scope\"", r.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData("repository:admin/x/../tokens:pull")]
    [InlineData("repository:admin/%2e%2e/admin/tokens:pull")]
    [InlineData("repository:admin/./tokens:pull")]
    [InlineData("repository:admin//tokens:pull")]
    [InlineData("repository:Admin/Tokens:pull")]
    public async Task AScopeThatIsNotARepositoryNameGrantsNothing(string scope)
    {
        // Escaped once more by TokenAsync, so the server's query decoding yields the scope as written here.
        var token = await TokenAsync(scope);
        var payload = JsonNode.Parse(Unb64(token.Split('.')[1]))!;
        Assert.Empty(payload["access"]!.AsArray());
        using var r = await PullWith(token);
        await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task ChangedClaimsAreRefused()
    {
        var parts = (await TokenAsync($"repository:{Repo}:pull")).Split('.');
        var payload = JsonNode.Parse(Unb64(parts[1]))!;
        payload["access"]![0]!["name"] = "admin/other";
        payload["exp"] = (long)payload["exp"]! + 3600;
        await AssertRefused($"{parts[0]}.{B64(Encoding.UTF8.GetBytes(payload.ToJsonString()))}.{parts[2]}");
        // The signature of one token on another's payload.
        var other = (await TokenAsync($"repository:{Repo}:pull,push")).Split('.');
        await AssertRefused($"{parts[0]}.{other[1]}.{parts[2]}");
    }

    [Fact]
    public async Task AnotherKeysSignatureIsRefused()
    {
        var parts = (await TokenAsync($"repository:{Repo}:pull")).Split('.');
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signature = key.SignData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), HashAlgorithmName.SHA256);
        await AssertRefused($"{parts[0]}.{parts[1]}.{B64(signature)}");
    }

    [Fact]
    public async Task UnsignedAndSymmetricAlgorithmsAreRefused()
    {
        var parts = (await TokenAsync($"repository:{Repo}:pull")).Split('.');
        var none = B64("""{"alg":"none","typ":"JWT"}"""u8.ToArray());
        await AssertRefused($"{none}.{parts[1]}.");
        await AssertRefused($"{none}.{parts[1]}");
        // HS256 keyed with something an attacker knows (the key confusion attack).
        var hs = B64("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray());
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes("berth"), Encoding.ASCII.GetBytes($"{hs}.{parts[1]}"));
        await AssertRefused($"{hs}.{parts[1]}.{B64(mac)}");
        await AssertRefused("not-a-token");
    }

    [Fact]
    public async Task AnExpiredTokenIsRefused()
    {
        // Signed with the server's own key, an hour ago, with the server's lifetime: long expired.
        var key = File.ReadAllText(Path.Combine(server.DataDirectory, "token-key.pem"));
        var past = new FixedTime(DateTimeOffset.UtcNow.AddHours(-1));
        var issuer = new TokenIssuer(key, "berth", TimeSpan.FromMinutes(5), past);
        var (token, _) = issuer.IssueAccess(new Core.Access.Caller(Core.Access.AccountKind.User, "admin"), [new AccessEntry("repository", Repo, ["pull"])]);
        await AssertRefused(token);
        // The same issuer at the present time makes a token the server takes: the refusal above was the expiry.
        var now = new TokenIssuer(key, "berth", TimeSpan.FromMinutes(5), TimeProvider.System);
        using var r = await PullWith(now.IssueAccess(new Core.Access.Caller(Core.Access.AccountKind.User, "admin"), [new AccessEntry("repository", Repo, ["pull"])]).Token);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task RefreshTokensWorkOnlyAtTheTokenEndpoint()
    {
        using var http = server.NewClient();
        using var login = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, http.Url("/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "password", ["username"] = "admin", ["password"] = AuthServer.AdminPassword,
                ["service"] = "berth", ["client_id"] = "test", ["access_type"] = "offline", ["scope"] = $"repository:{Repo}:pull",
            }),
        });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var refresh = (await login.JsonAsync()).GetProperty("refresh_token").GetString()!;
        await AssertRefused(refresh);

        using var renewed = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, http.Url("/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["service"] = "berth", ["client_id"] = "test", ["scope"] = $"repository:{Repo}:pull",
            }),
        });
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        using var pulled = await PullWith((await renewed.JsonAsync()).GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);

        // An access token is not a refresh token.
        using var wrong = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, http.Url("/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token", ["refresh_token"] = await TokenAsync($"repository:{Repo}:pull"), ["service"] = "berth",
            }),
        });
        await wrong.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task DockerLoginGetsNoRefreshToken()
    {
        // docker login's request. A refresh token in the answer makes docker store it as an identity token in place of
        // the password, which podman, buildah, skopeo and Kubernetes pull secrets cannot use.
        using var http = server.NewClient();
        var request = new HttpRequestMessage(HttpMethod.Get, http.Url("/token?account=admin&client_id=docker&offline_token=true&service=berth"));
        request.Headers.Authorization = RegistryClient.Basic("admin", AuthServer.AdminPassword);
        using var r = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await r.JsonAsync();
        Assert.False(body.TryGetProperty("refresh_token", out var refresh) && refresh.ValueKind != System.Text.Json.JsonValueKind.Null,
            $"GET /token answered a refresh token: {body}");
        Assert.False(string.IsNullOrEmpty(body.GetProperty("token").GetString()));
    }

    [Fact]
    public async Task WrongCredentialsAtTheTokenEndpointAre401()
    {
        using var http = server.NewClient();
        var request = new HttpRequestMessage(HttpMethod.Get, http.Url($"/token?service=berth&scope=repository:{Repo}:pull"));
        request.Headers.Authorization = RegistryClient.Basic("admin", "wrong-password");
        using var r = await http.SendAsync(request);
        await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
