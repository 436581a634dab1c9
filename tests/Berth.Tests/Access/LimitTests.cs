using System.Net;
using Berth.Configuration;
using Berth.Tests.Support;

namespace Berth.Tests.Access;

public sealed class LimitServer : AuthServer
{
    internal ManualTime Clock { get; } = new(DateTimeOffset.UtcNow);

    public override TimeProvider Time => Clock;

    protected override BerthOptions Configure(BerthOptions options)
    {
        var configured = base.Configure(options);
        return configured with
        {
            Auth = configured.Auth with
            {
                PullLimitAnonymous = 3,
                PullLimitSignedIn = 5,
                PullLimitWindow = TimeSpan.FromSeconds(3),
                LoginMaxFailures = 3,
                LoginLockout = TimeSpan.FromSeconds(3),
            },
        };
    }
}

/// <summary>Pull limits (per address anonymous, per account signed in) and the sign-in lockout trip at the configured numbers and reset.</summary>
public sealed class LimitTests(LimitServer server) : IClassFixture<LimitServer>
{
    private async Task PublicImageAsync(string repo)
    {
        using var admin = server.Admin();
        await admin.PushImageAsync(repo, "1");
        await AuthServer.ApiAsync(admin, HttpMethod.Put, $"repositories/{repo}", """{"visibility":"public"}""", HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task PullLimitsTripAndReset()
    {
        await PublicImageAsync("admin/limited");
        using var anonymous = server.NewClient();
        for (var i = 2; i >= 0; i--)
        {
            using var r = await anonymous.GetAsync("/v2/admin/limited/manifests/1");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("3;w=3", r.Header("RateLimit-Limit"));
            Assert.Equal($"{i};w=3", r.Header("RateLimit-Remaining"));
        }
        // HEAD is not a pull: docker checks for updates with HEAD and is not charged for it.
        using (var head = await anonymous.HeadAsync("/v2/admin/limited/manifests/1")) Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        using (var over = await anonymous.GetAsync("/v2/admin/limited/manifests/1"))
        {
            await over.AssertErrorAsync(HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
            Assert.Equal("3", over.Header("Retry-After"));
            Assert.Equal("0;w=3", over.Header("RateLimit-Remaining"));
        }
        // A signed-in account has its own, larger allowance.
        using var admin = server.Admin();
        for (var i = 0; i < 5; i++)
        {
            using var r = await admin.GetAsync("/v2/admin/limited/manifests/1");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("5;w=3", r.Header("RateLimit-Limit"));
        }
        using (var over = await admin.GetAsync("/v2/admin/limited/manifests/1")) await over.AssertErrorAsync(HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");

        server.Clock.Advance(TimeSpan.FromSeconds(3));
        using (var again = await anonymous.GetAsync("/v2/admin/limited/manifests/1"))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Equal("2;w=3", again.Header("RateLimit-Remaining"));
        }
    }

    [Fact]
    public async Task RepeatedFailedSignInsLockOutForAWhile()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"lockme","password":"right-password"}""", HttpStatusCode.Created);
        using var wrong = server.As("lockme", "wrong-password");
        var started = DateTime.UtcNow;
        for (var i = 0; i < 3; i++)
        {
            using var r = await wrong.GetAsync("/v2/");
            await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }
        // Each failure is answered more slowly than the one before (100, 200, 300 ms).
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(500), "failed sign-ins were not slowed down");
        using var right = server.As("lockme", "right-password");
        using (var locked = await right.GetAsync("/v2/"))
        {
            await locked.AssertErrorAsync(HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
            Assert.Equal("3", locked.Header("Retry-After"));
        }
        // The token endpoint honours the same lockout.
        var tokenRequest = new HttpRequestMessage(HttpMethod.Get, right.Url("/token?service=berth"));
        tokenRequest.Headers.Authorization = RegistryClient.Basic("lockme", "right-password");
        using (var viaToken = await right.SendAsync(tokenRequest)) Assert.Equal(HttpStatusCode.TooManyRequests, viaToken.StatusCode);

        server.Clock.Advance(TimeSpan.FromSeconds(3));
        using var after = await right.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var events = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "audit?actor=lockme&action=login"))!.Value.EnumerateArray().ToList();
        Assert.Contains(events, e => e.GetProperty("detail").GetString() == "locked out after repeated failures");
    }
}
