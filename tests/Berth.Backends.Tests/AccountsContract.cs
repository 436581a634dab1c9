using Berth.Core.Access;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IAccounts"/> contract.</summary>
public abstract class AccountsContract : StoreContract
{
    [Fact]
    public async Task AccountsShareOneSetOfNames()
    {
        Assert.Equal(0, await S.Accounts.CountUsersAsync(Ct));
        Assert.True(await S.Accounts.CreateAccountAsync(new Account("alice", AccountKind.User, "h1", false, Visibility.Private, Now), Ct));
        Assert.False(await S.Accounts.CreateAccountAsync(new Account("alice", AccountKind.Organization, null, false, Visibility.Private, Now), Ct));
        await AccountAsync("acme", AccountKind.Organization);
        await AccountAsync("acme+ci", AccountKind.Robot);
        Assert.Equal(1, await S.Accounts.CountUsersAsync(Ct));
        Assert.Equal(["acme", "acme+ci", "alice"], (await S.Accounts.ListAccountsAsync(null, Ct)).Select(a => a.Name));
        Assert.Equal(["acme"], (await S.Accounts.ListAccountsAsync(AccountKind.Organization, Ct)).Select(a => a.Name));
        Assert.Null(await S.Accounts.GetAccountAsync("nobody", Ct));
        Assert.Equal(AccountKind.Robot, (await S.Accounts.GetAccountAsync("acme+ci", Ct))!.Kind);
    }

    [Fact]
    public async Task UsersHavePasswordsAndAnAdminFlag()
    {
        Assert.True(await S.Accounts.UpsertUserAsync("admin", "h1", true, Now, Ct));
        Assert.True(await S.Accounts.UpsertUserAsync("admin", "h2", true, Now, Ct));
        Assert.Equal("h2", (await S.Accounts.GetAccountAsync("admin", Ct))!.PasswordHash);
        await AccountAsync("acme", AccountKind.Organization);
        Assert.False(await S.Accounts.UpsertUserAsync("acme", "h", true, Now, Ct));
        Assert.False(await S.Accounts.SetPasswordAsync("acme", "h", Ct));
        Assert.False(await S.Accounts.SetAdminAsync("nobody", true, Ct));
        Assert.True(await S.Accounts.SetPasswordAsync("admin", "h3", Ct));
        Assert.True(await S.Accounts.SetAdminAsync("admin", false, Ct));
        var admin = (await S.Accounts.GetAccountAsync("admin", Ct))!;
        Assert.Equal(("h3", false), (admin.PasswordHash, admin.IsAdmin));
    }

    [Fact]
    public async Task RolesComeFromOwnershipMembershipAndGrants()
    {
        await AccountAsync("alice");
        await AccountAsync("bob");
        await AccountAsync("carol");
        await AccountAsync("acme", AccountKind.Organization);
        Assert.Equal(Role.Admin, await S.Accounts.GetRoleAsync("alice", "alice/app", Ct));
        Assert.Equal(Role.None, await S.Accounts.GetRoleAsync("alice", "acme/api", Ct));

        await S.Accounts.SetMemberAsync("acme", "alice", owner: true, Ct);
        await S.Accounts.SetMemberAsync("acme", "bob", owner: false, Ct);
        Assert.Equal([new Member("alice", true), new Member("bob", false)], await S.Accounts.ListMembersAsync("acme", Ct));
        Assert.Equal(Role.Admin, await S.Accounts.GetRoleAsync("alice", "acme/api", Ct));
        Assert.Equal(Role.None, await S.Accounts.GetRoleAsync("bob", "acme/api", Ct));

        Assert.True(await S.Accounts.CreateTeamAsync("acme", "devs", Now, Ct));
        Assert.False(await S.Accounts.CreateTeamAsync("acme", "devs", Now, Ct));
        Assert.False(await S.Accounts.AddTeamMemberAsync("acme", "nope", "bob", Ct));
        Assert.True(await S.Accounts.AddTeamMemberAsync("acme", "devs", "bob", Ct));
        Assert.True(await S.Accounts.AddTeamMemberAsync("acme", "devs", "bob", Ct));
        await S.Accounts.SetGrantAsync(new Grant("acme", true, "team:acme/devs", Role.Read), Now, Ct);
        await S.Accounts.SetGrantAsync(new Grant("acme/api", false, "user:bob", Role.Write), Now, Ct);
        await S.Accounts.SetGrantAsync(new Grant("acme/web", false, "user:carol", Role.Read), Now, Ct);
        Assert.Equal(Role.Write, await S.Accounts.GetRoleAsync("bob", "acme/api", Ct));
        Assert.Equal(Role.Read, await S.Accounts.GetRoleAsync("bob", "acme/other", Ct));
        Assert.Equal(Role.Read, await S.Accounts.GetRoleAsync("carol", "acme/web", Ct));
        Assert.Equal(Role.None, await S.Accounts.GetRoleAsync("carol", "acme/api", Ct));
        Assert.Equal(["team:acme/devs"], (await S.Accounts.ListGrantsAsync("acme", true, Ct)).Select(g => g.Subject));
        var team = Assert.Single(await S.Accounts.ListTeamsAsync("acme", Ct));
        Assert.Equal("devs", team.Name);
        Assert.Equal(["bob"], team.Members);

        // Leaving the organisation leaves its teams; deleting a team drops its grants.
        Assert.True(await S.Accounts.RemoveMemberAsync("acme", "bob", Ct));
        Assert.False(await S.Accounts.RemoveMemberAsync("acme", "bob", Ct));
        Assert.Equal(Role.Write, await S.Accounts.GetRoleAsync("bob", "acme/api", Ct));
        Assert.Equal(Role.None, await S.Accounts.GetRoleAsync("bob", "acme/other", Ct));
        Assert.True(await S.Accounts.DeleteTeamAsync("acme", "devs", Ct));
        Assert.False(await S.Accounts.DeleteTeamAsync("acme", "devs", Ct));
        Assert.Empty(await S.Accounts.ListGrantsAsync("acme", true, Ct));
        await S.Accounts.SetGrantAsync(new Grant("acme/api", false, "user:bob", Role.None), Now, Ct);
        Assert.Equal(Role.None, await S.Accounts.GetRoleAsync("bob", "acme/api", Ct));
    }

    [Fact]
    public async Task DeletingAnAccountTakesItsMembershipsGrantsAndTokens()
    {
        await AccountAsync("bob");
        await AccountAsync("acme", AccountKind.Organization);
        await S.Accounts.SetMemberAsync("acme", "bob", owner: true, Ct);
        await S.Accounts.SetGrantAsync(new Grant("x/y", false, "user:bob", Role.Read), Now, Ct);
        await S.Tokens.CreateTokenAsync(new AccessToken("t1", "bob", "ci", "hash", [new TokenScope("*", RepoActions.All)], Now, null, null), Ct);
        Assert.True(await S.Accounts.DeleteAccountAsync("bob", Now, Ct));
        Assert.False(await S.Accounts.DeleteAccountAsync("bob", Now, Ct));
        Assert.Null(await S.Accounts.GetAccountAsync("bob", Ct));
        Assert.Empty(await S.Accounts.ListMembersAsync("acme", Ct));
        Assert.Empty(await S.Accounts.ListGrantsAsync("x/y", false, Ct));
        Assert.NotNull((await S.Tokens.GetTokenAsync("t1", Ct))!.Revoked);
    }
}
