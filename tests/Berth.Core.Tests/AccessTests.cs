using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Metadata;

namespace Berth.Core.Tests;

/// <summary>The decision function and the account services over a real SQLite file in a temporary directory.</summary>
public sealed class AccessTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-access-").FullName;
    private readonly CancellationToken _ct = CancellationToken.None;
    private SqliteDatabase _db = null!;
    private AccessControl _access = null!;
    private Administration _admin = null!;
    private TokenService _tokens = null!;
    private AuditTrail _audit = null!;
    private SignInService _signIn = null!;

    public async Task InitializeAsync()
    {
        _db = await SqliteDatabase.OpenAsync(Path.Combine(_dir, "berth.db"), TimeProvider.System, _ct);
        var accounts = new SqliteAccounts(_db);
        var repositories = new SqliteRepositories(_db);
        _access = new AccessControl(accounts, repositories, TimeProvider.System);
        _audit = new AuditTrail(new SqliteAuditLog(_db), _access, TimeProvider.System);
        _admin = new Administration(accounts, repositories, _access, _audit, TimeProvider.System);
        _tokens = new TokenService(accounts, new SqliteTokens(_db), _access, _audit, TimeProvider.System);
        _signIn = new SignInService(accounts, new SqliteTokens(_db), _audit, new LoginThrottle(new MemoryLimitCounters(), TimeProvider.System, 5, TimeSpan.FromMinutes(1)), TimeProvider.System);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private static Caller User(string name, bool admin = false) => new(AccountKind.User, name, admin);

    private async Task RepositoryAsync(string name)
    {
        var uploads = new SqliteUploadSessions(_db);
        var session = new UploadSession(Guid.NewGuid().ToString("N"), name, 1, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        await uploads.CreateUploadAsync(session, _ct);
        await uploads.CompleteUploadAsync(session, Digest.Compute("x"u8), _ct);
        _access.Forget(name);
    }

    [Fact]
    public async Task WithNoUserEverythingIsAllowed()
    {
        Assert.False(await _access.IsEnabledAsync(_ct));
        Assert.Equal(RepoActions.All, await _access.DecideAsync(Caller.Anonymous, "any/repo", RepoActions.All, _ct));
        Assert.Equal(RepositoryFilter.Everything, await _access.PullFilterAsync(Caller.Anonymous, _ct));
    }

    [Fact]
    public async Task VisibilityOwnershipGrantsTeamsAndScopesDecide()
    {
        await _admin.EnsureAdminAsync("admin-password", _ct);
        var op = AccountRules.Operator;
        await _admin.CreateUserAsync(op, "alice", "alice-password", false, _ct);
        await _admin.CreateUserAsync(op, "bob", "bob-password", false, _ct);
        await _admin.CreateOrganizationAsync(op, "acme", "alice", _ct);
        await _admin.CreateTeamAsync(op, "acme", "devs", _ct);
        await _admin.AddTeamMemberAsync(op, "acme", "devs", "bob", _ct);
        foreach (var r in new[] { "acme/api", "acme/web", "alice/app", "open/pub" }) await RepositoryAsync(r);
        await _admin.SetVisibilityAsync(op, "open/pub", Visibility.Public, _ct);
        Assert.True(await _access.IsEnabledAsync(_ct));

        var alice = User("alice");
        var bob = User("bob");
        Assert.Equal(RepoActions.Pull, await _access.DecideAsync(Caller.Anonymous, "open/pub", RepoActions.All, _ct));
        Assert.Equal(RepoActions.None, await _access.DecideAsync(Caller.Anonymous, "acme/api", RepoActions.All, _ct));
        Assert.Equal(RepoActions.All, await _access.DecideAsync(alice, "alice/app", RepoActions.All, _ct));
        Assert.Equal(RepoActions.All, await _access.DecideAsync(alice, "acme/api", RepoActions.All, _ct));
        Assert.Equal(RepoActions.None, await _access.DecideAsync(bob, "acme/api", RepoActions.All, _ct));
        Assert.Equal(RepoActions.All, await _access.DecideAsync(User("root", admin: true), "acme/api", RepoActions.All, _ct));

        await _admin.SetGrantAsync(alice, "acme/web", false, "team:acme/devs", Role.Write, _ct);
        Assert.Equal(RepoActions.Pull | RepoActions.Push, await _access.DecideAsync(bob, "acme/web", RepoActions.All, _ct));
        Assert.Equal(RepoActions.None, await _access.DecideAsync(bob, "acme/api", RepoActions.All, _ct));

        var scoped = alice with { Scopes = [new TokenScope("acme/*", RepoActions.Pull)] };
        Assert.Equal(RepoActions.Pull, await _access.DecideAsync(scoped, "acme/api", RepoActions.All, _ct));
        Assert.Equal(RepoActions.None, await _access.DecideAsync(scoped, "alice/app", RepoActions.All, _ct));
        Assert.Equal(RepoActions.Pull, await _access.DecideAsync(scoped, "open/pub", RepoActions.All, _ct));

        var robot = new Caller(AccountKind.Robot, "acme+ci", Scopes: [new TokenScope("*", RepoActions.All)]);
        Assert.Equal(RepoActions.All, await _access.DecideAsync(robot, "acme/api", RepoActions.All, _ct));
        Assert.Equal(RepoActions.None, await _access.DecideAsync(robot, "alice/app", RepoActions.All, _ct));

        var bearer = Caller.Anonymous with { Granted = new Dictionary<string, RepoActions> { ["acme/api"] = RepoActions.Pull } };
        Assert.Equal(RepoActions.Pull, await _access.DecideAsync(bearer, "acme/api", RepoActions.All, _ct));
        Assert.Equal(RepoActions.None, await _access.DecideAsync(bearer, "open/pub", RepoActions.All, _ct));

        // The filter a query applies answers what the decision answers for pull.
        var repositories = new SqliteRepositories(_db);
        foreach (var caller in new[] { Caller.Anonymous, alice, bob, scoped, robot, bearer, User("root", admin: true) })
        {
            var listed = await repositories.ListAsync(await _access.PullFilterAsync(caller, _ct), null, 100, _ct);
            var decided = new List<string>();
            foreach (var r in new[] { "acme/api", "acme/web", "alice/app", "open/pub" })
            {
                if (await _access.DecideAsync(caller, r, RepoActions.Pull, _ct) == RepoActions.Pull) decided.Add(r);
            }
            Assert.Equal(decided, listed);
        }
    }

    [Fact]
    public async Task ServicesCheckRightsAuditAndSignIn()
    {
        await _admin.EnsureAdminAsync("admin-password", _ct);
        var op = AccountRules.Operator;
        await _admin.CreateUserAsync(op, "alice", "alice-password", false, _ct);
        var alice = User("alice");
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => _admin.CreateUserAsync(alice, "eve", "eve-password", false, _ct))).Code);
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<RegistryException>(() => _admin.SetAdminAsync(op, "admin", false, _ct))).Code);
        Assert.Equal(ErrorCode.InvalidRequest, (await Assert.ThrowsAsync<RegistryException>(() => _admin.CreateUserAsync(op, "Bad Name", "long-enough", false, _ct))).Code);

        var issued = await _tokens.CreateTokenAsync(alice, "alice", "ci", AccountRules.ParseScopes(["alice/*:pull"]), null, _ct);
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => _tokens.ListTokensAsync(alice, "admin", _ct))).Code);
        var signedIn = await _signIn.SignInAsync("alice", issued.Secret, "192.0.2.1", _ct);
        Assert.Equal(issued.Token.Id, signedIn.Caller!.TokenId);
        Assert.Null((await _signIn.SignInAsync("alice", "wrong-password", "192.0.2.1", _ct)).Caller);
        await _tokens.RevokeTokenAsync(alice, issued.Token.Id, _ct);
        Assert.Null(await _signIn.ResolveAsync("alice", issued.Token.Id, _ct));
        Assert.Equal("alice", (await _signIn.ResolveAsync("alice", null, _ct))!.Name);

        var events = await _audit.QueryAsync(op, new AuditQuery(Actor: "alice"), _ct);
        Assert.Equal(["token.revoke", "login", "login", "token.create"], events.Select(e => e.Action));
        Assert.Equal(ErrorCode.Denied, (await Assert.ThrowsAsync<RegistryException>(() => _audit.QueryAsync(alice, new AuditQuery(), _ct))).Code);
    }

    [Fact]
    public void OneParserForScopesRolesAndVisibility()
    {
        Assert.Equal([new TokenScope("acme/*", RepoActions.Pull | RepoActions.Push)], AccountRules.ParseScopes(["acme/*:pull,push"]));
        Assert.Throws<RegistryException>(() => AccountRules.ParseScopes([]));
        Assert.Throws<RegistryException>(() => AccountRules.ParseScopes(["nope"]));
        Assert.Equal(Role.None, AccountRules.ParseRole("none"));
        Assert.Equal(Role.Write, AccountRules.ParseRole("write"));
        Assert.Throws<RegistryException>(() => AccountRules.ParseRole("owner"));
        Assert.Equal(Visibility.Public, AccountRules.ParseVisibility("public"));
        Assert.Throws<RegistryException>(() => AccountRules.ParseVisibility("hidden"));
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddDays(30), AccountRules.ParseExpiry("30d", now, "--expires"));
        Assert.Equal(now.AddHours(12), AccountRules.ParseExpiry("12h", now, "expiresIn"));
        Assert.Equal("expiresIn must be a duration such as 30d or 12h", Assert.Throws<RegistryException>(() => AccountRules.ParseExpiry("0d", now, "expiresIn")).Message);
        Assert.Throws<RegistryException>(() => AccountRules.ParseExpiry("soon", now, "--expires"));
    }
}
