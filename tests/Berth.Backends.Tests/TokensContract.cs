using Berth.Core.Access;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="ITokens"/> contract.</summary>
public abstract class TokensContract : StoreContract
{
    [Fact]
    public async Task TokensAreStoredListedAndRevokedOnce()
    {
        var created = Now.AddMinutes(-1);
        var first = new AccessToken("t1", "alice", "ci", "hash1", [new TokenScope("acme/*", RepoActions.Pull | RepoActions.Push), new TokenScope("x/y", RepoActions.Pull)],
            DateTimeOffset.FromUnixTimeMilliseconds(created.ToUnixTimeMilliseconds()), null, null);
        await S.Tokens.CreateTokenAsync(first, Ct);
        await S.Tokens.CreateTokenAsync(first with { Id = "t2", Name = "later", Created = first.Created.AddSeconds(1), Expires = first.Created.AddDays(1) }, Ct);
        await S.Tokens.CreateTokenAsync(first with { Id = "t3", Account = "bob" }, Ct);

        var read = (await S.Tokens.GetTokenAsync("t1", Ct))!;
        Assert.Equal((first.Account, first.Name, first.SecretHash, first.Created, first.Expires, first.Revoked), (read.Account, read.Name, read.SecretHash, read.Created, read.Expires, read.Revoked));
        Assert.Equal(first.Scopes, read.Scopes);
        Assert.Null(await S.Tokens.GetTokenAsync("nope", Ct));
        Assert.Equal(["t1", "t2"], (await S.Tokens.ListTokensAsync("alice", Ct)).Select(t => t.Id));

        Assert.True(await S.Tokens.RevokeTokenAsync("t1", Now, Ct));
        Assert.False(await S.Tokens.RevokeTokenAsync("t1", Now, Ct));
        Assert.False(await S.Tokens.RevokeTokenAsync("nope", Now, Ct));
        Assert.NotNull((await S.Tokens.GetTokenAsync("t1", Ct))!.Revoked);
        Assert.Equal(2, (await S.Tokens.ListTokensAsync("alice", Ct)).Count);
    }
}
