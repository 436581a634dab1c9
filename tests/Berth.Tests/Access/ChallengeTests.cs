using System.Net;
using System.Net.Http.Headers;
using Berth.Tests.Support;

namespace Berth.Tests.Access;

/// <summary>
/// Each surface answers a refusal with its own challenge: the registry API sends clients to the token endpoint
/// (Bearer), every other path asks for Basic credentials. Every answer names the API version.
/// </summary>
public sealed class ChallengeTests(AuthServer server) : IClassFixture<AuthServer>
{
    private const string Basic = "Basic realm=\"berth\", charset=\"UTF-8\"";

    private string Bearer(string rest = "") => $"Bearer realm=\"{server.Client.Url("/token")}\",service=\"berth\"{rest}";

    private async Task<(HttpStatusCode Status, string? Challenge, string Body)> GetAsync(string path, AuthenticationHeaderValue? authorization)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Client.Url(path));
        request.Headers.Authorization = authorization;
        using var r = await http.SendAsync(request);
        Assert.Equal("registry/2.0", Assert.Single(r.Headers.GetValues("Docker-Distribution-API-Version")));
        var challenge = r.Headers.TryGetValues("WWW-Authenticate", out var values) ? Assert.Single(values) : null;
        return (r.StatusCode, challenge, await r.Content.ReadAsStringAsync());
    }

    // A new name each time: the sign-in throttle slows repeated failures of one account down.
    private static AuthenticationHeaderValue WrongPassword => RegistryClient.Basic($"nobody{Guid.NewGuid():N}", "wrong");

    private static AuthenticationHeaderValue ForeignBearer => new("Bearer", "not.a.token");

    [Fact]
    public async Task The_registry_API_challenges_with_Bearer_and_what_to_ask_for()
    {
        Assert.Equal((HttpStatusCode.Unauthorized, Bearer()), Pick(await GetAsync("/v2/", null)));
        Assert.Equal((HttpStatusCode.Unauthorized, Bearer(",scope=\"registry:catalog:*\"")), Pick(await GetAsync("/v2/_catalog", null)));
        Assert.Equal((HttpStatusCode.Unauthorized, Bearer(",scope=\"repository:some/app:pull\"")), Pick(await GetAsync("/v2/some/app/manifests/1", null)));
        Assert.Equal((HttpStatusCode.Unauthorized, Bearer()), Pick(await GetAsync("/v2/some/app/manifests/1", WrongPassword)));
        Assert.Equal((HttpStatusCode.Unauthorized, Bearer(",error=\"invalid_token\"")), Pick(await GetAsync("/v2/some/app/manifests/1", ForeignBearer)));
        Assert.Equal((HttpStatusCode.Unauthorized, Bearer(",error=\"invalid_token\"")), Pick(await GetAsync("/v2x", ForeignBearer)));
    }

    [Theory]
    [InlineData("/token")]
    [InlineData("/api/v1/me")]
    [InlineData("/v1/search?q=app")]
    [InlineData("/")]
    [InlineData("/foo")]
    public async Task Other_surfaces_challenge_with_Basic(string path)
    {
        Assert.Equal((HttpStatusCode.Unauthorized, Basic), Pick(await GetAsync(path, WrongPassword)));
        if (path != "/token") Assert.Equal((HttpStatusCode.Unauthorized, Basic), Pick(await GetAsync(path, ForeignBearer)));
    }

    [Fact]
    public async Task Anonymous_callers_of_the_management_API_are_asked_for_Basic()
    {
        var (status, challenge, body) = await GetAsync("/api/v1/me", null);
        Assert.Equal((HttpStatusCode.Unauthorized, Basic), (status, challenge));
        Assert.Contains("\"UNAUTHORIZED\"", body);
    }

    [Theory]
    [InlineData("/ui")]
    [InlineData("/foo")]
    [InlineData("/api/v1")]
    [InlineData("/token/")]
    public async Task Paths_of_no_surface_are_404_without_a_challenge(string path)
    {
        var (status, challenge, body) = await GetAsync(path, null);
        Assert.Equal((HttpStatusCode.NotFound, null), (status, challenge));
        // The detail holds only the request's id (X-Request-Id), which differs per request.
        Assert.StartsWith("{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"no such endpoint\",\"detail\":{\"requestId\":\"", body);
        Assert.EndsWith("\"}}]}", body);
    }

    private static (HttpStatusCode, string?) Pick((HttpStatusCode Status, string? Challenge, string Body) r) => (r.Status, r.Challenge);
}
