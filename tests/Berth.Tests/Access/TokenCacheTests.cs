using Berth.Auth;
using Berth.Core.Access;
using Berth.Tests.Support;
using Xunit.Abstractions;

namespace Berth.Tests.Access;

/// <summary>The cache of validated access tokens: what enters it, how long it serves, how big it gets.</summary>
[Collection(HeapMeasurements.Name)]
public sealed class TokenCacheTests(ITestOutputHelper output)
{
    private readonly string _key = TokenIssuer.NewKeyPem();
    private readonly ManualTime _time = new(DateTimeOffset.UtcNow);

    private TokenIssuer NewIssuer(long cacheBytes = TokenIssuer.CacheBytes) =>
        new(_key, "berth", TimeSpan.FromMinutes(5), _time, cacheBytes);

    private static string Issue(TokenIssuer issuer, string repository = "team/app") =>
        issuer.IssueAccess(new Caller(AccountKind.User, "alice"), [new AccessEntry("repository", repository, ["pull"])]).Token;

    [Fact]
    public async Task AValidatedTokenIsServedFromTheCacheUntilItExpires()
    {
        var issuer = NewIssuer();
        var token = Issue(issuer);
        Assert.Null(issuer.Validated(token));
        var claims = await issuer.ValidateAccessAsync(token);
        Assert.NotNull(claims);
        Assert.Same(claims, issuer.Validated(token));
        Assert.Equal(RepoActions.Pull, issuer.Validated(token)!.Caller.Granted!["team/app"]);

        // The validator accepts a token until its expiry plus 30 s of clock skew; the cache serves it exactly as long.
        _time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(29));
        Assert.Same(claims, issuer.Validated(token));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(issuer.Validated(token));
        Assert.Null(await issuer.ValidateAccessAsync(token));
    }

    [Fact]
    public async Task ATokenWithAWrongSignatureNeverEntersIt()
    {
        var issuer = NewIssuer();
        var token = Issue(issuer);
        var forged = string.Concat(token.AsSpan(0, token.Length - 4), token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        Assert.Null(await issuer.ValidateAccessAsync(forged));
        Assert.Null(issuer.Validated(forged));
        Assert.Equal(0, issuer.CachedBytes);
        // Signed by another key: refused, not cached.
        var other = new TokenIssuer(TokenIssuer.NewKeyPem(), "berth", TimeSpan.FromMinutes(5), _time);
        var foreign = Issue(other);
        Assert.Null(await issuer.ValidateAccessAsync(foreign));
        Assert.Null(issuer.Validated(foreign));
        Assert.Equal(0, issuer.CachedBytes);
    }

    [Fact]
    public async Task ATamperedTokenWithTheSamePrefixIsNotServedFromTheCache()
    {
        var issuer = NewIssuer();
        var token = Issue(issuer);
        Assert.NotNull(await issuer.ValidateAccessAsync(token));
        Assert.NotNull(issuer.Validated(token));
        // Same header and claims, the signature's last characters changed; and the token with something appended.
        var tampered = string.Concat(token.AsSpan(0, token.Length - 1), token[^1] == 'A' ? "B" : "A");
        Assert.Null(issuer.Validated(tampered));
        Assert.Null(issuer.Validated(token + "A"));
        Assert.Null(issuer.Validated(token.AsSpan(0, token.Length - 1)));
        Assert.Null(await issuer.ValidateAccessAsync(tampered));
        Assert.Null(issuer.Validated(tampered));
    }

    [Fact]
    public async Task TheCacheStaysWithinItsBound()
    {
        const long bound = 64 * 1024;
        var issuer = NewIssuer(bound);
        var tokens = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            var token = Issue(issuer, $"team/app{i}");
            tokens.Add(token);
            Assert.NotNull(await issuer.ValidateAccessAsync(token));
            Assert.True(issuer.CachedBytes <= bound);
        }
        Assert.True(issuer.CachedBytes > bound / 2);
        // Evicted tokens are validated again, never refused.
        Assert.NotNull(await issuer.ValidateAccessAsync(tokens[0]));
    }

    [Fact]
    public async Task EachTokenIsChargedAtLeastWhatItHolds()
    {
        const int n = 1000;
        var issuer = NewIssuer(1L << 30);
        var tokens = Enumerable.Range(0, n).Select(i => Issue(issuer, $"team/app{i}")).ToArray();
        foreach (var t in tokens.Take(10)) await issuer.ValidateAccessAsync(t);
        var charged0 = issuer.CachedBytes;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var t in tokens.Skip(10)) await issuer.ValidateAccessAsync(t);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        var charged = issuer.CachedBytes - charged0;
        output.WriteLine($"charged {charged / (n - 10)} bytes per token, holds {held / (n - 10)}");
        Assert.True(charged >= held, $"charged {charged / (n - 10)} bytes per token, holds {held / (n - 10)}");
        Assert.True(charged < 2 * held, $"charged {charged / (n - 10)} bytes per token, holds {held / (n - 10)}");
        GC.KeepAlive(tokens);
    }
}

/// <summary>Tests that measure the process's heap run alone: another test allocating meanwhile would count as theirs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurements
{
    public const string Name = "heap measurements";
}
