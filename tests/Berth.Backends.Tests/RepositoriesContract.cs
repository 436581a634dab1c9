using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IRepositories"/> contract, the <see cref="RepositoryFilter"/> rules included.</summary>
public abstract class RepositoriesContract : StoreContract
{
    private Task<IReadOnlyList<string>> ListAsync(RepositoryFilter f) => S.Repositories.ListAsync(f, null, 100, Ct);

    [Fact]
    public async Task TheCatalogIsPagedInLexicalOrder()
    {
        foreach (var name in new[] { "zulu/y", "alpha/x", "team/app" }) await BlobAsync(name, name);
        Assert.Equal(["alpha/x", "team/app", "zulu/y"], await ListAsync(RepositoryFilter.Everything));
        Assert.Equal(["alpha/x"], await S.Repositories.ListAsync(RepositoryFilter.Everything, null, 1, Ct));
        Assert.Equal(["zulu/y"], await S.Repositories.ListAsync(RepositoryFilter.Everything, "team/app", 10, Ct));
    }

    [Fact]
    public async Task VisibilityIsTheRepositorysOwnElseItsNamespacesDefaultElsePrivate()
    {
        await AccountAsync("acme", AccountKind.Organization);
        await BlobAsync("acme/old", "x");
        Assert.Equal(Visibility.Private, await S.Repositories.GetVisibilityAsync("acme/old", Ct));
        await S.Repositories.SetNamespaceVisibilityAsync("acme", Visibility.Public, Now, Ct);
        await BlobAsync("acme/new", "y");
        // Existing repositories keep what they had; new ones follow the default; missing ones are private.
        Assert.Equal(Visibility.Private, await S.Repositories.GetVisibilityAsync("acme/old", Ct));
        Assert.Equal(Visibility.Public, await S.Repositories.GetVisibilityAsync("acme/new", Ct));
        Assert.Equal(Visibility.Private, await S.Repositories.GetVisibilityAsync("acme/missing", Ct));
        await S.Repositories.SetVisibilityAsync("acme/new", Visibility.Private, Now, Ct);
        Assert.Equal(Visibility.Private, (await S.Repositories.GetAsync("acme/new", Ct))!.Visibility);
    }

    [Fact]
    public async Task GetAndSearchAnswerNameVisibilityAndDescription()
    {
        await BlobAsync("team/api", "a");
        await BlobAsync("team/web", "b");
        await S.Repositories.SetDescriptionAsync("team/web", "The Frontend", Now, Ct);
        await S.Repositories.SetVisibilityAsync("team/web", Visibility.Public, Now, Ct);
        Assert.Null(await S.Repositories.GetAsync("team/none", Ct));
        Assert.Equal(new RepositoryEntry("team/web", Visibility.Public, "The Frontend"), await S.Repositories.GetAsync("team/web", Ct));


        Assert.Equal(["team/api", "team/web"], (await S.Repositories.SearchAsync(RepositoryFilter.Everything, new SearchQuery("team", 10, After: null), Ct)).Results.Select(r => r.Name));
        Assert.Equal(["team/web"], (await S.Repositories.SearchAsync(RepositoryFilter.Everything, new SearchQuery("FRONT", 10, After: null), Ct)).Results.Select(r => r.Name));
        Assert.Equal(["team/web"], (await S.Repositories.SearchAsync(RepositoryFilter.Everything, new SearchQuery("team", 10, After: "team/api"), Ct)).Results.Select(r => r.Name));
        Assert.Equal(["team/web"], (await S.Repositories.SearchAsync(RepositoryFilter.Anonymous, new SearchQuery("team", 10, After: null), Ct)).Results.Select(r => r.Name));
    }

    [Fact]
    public async Task TheFilterAdmitsPublicAndHeldRepositoriesNarrowedByScopes()
    {
        await AccountAsync("alice");
        await AccountAsync("bob");
        await AccountAsync("acme", AccountKind.Organization);
        await AccountAsync("acme+ci", AccountKind.Robot);
        await S.Accounts.CreateTeamAsync("acme", "devs", Now, Ct);
        await S.Accounts.AddTeamMemberAsync("acme", "devs", "bob", Ct);
        foreach (var name in new[] { "acme/api", "acme/web", "alice/app", "bob/app", "open/pub", "solo" }) await BlobAsync(name, name);
        await S.Repositories.SetVisibilityAsync("open/pub", Visibility.Public, Now, Ct);
        await S.Accounts.SetGrantAsync(new Grant("acme/web", false, "team:acme/devs", Role.Read), Now, Ct);
        await S.Accounts.SetMemberAsync("acme", "alice", owner: true, Ct);

        Assert.Equal(["open/pub"], await ListAsync(RepositoryFilter.Anonymous));
        Assert.Equal(["acme/api", "acme/web", "alice/app", "open/pub"], await ListAsync(new RepositoryFilter(User: "alice")));
        Assert.Equal(["acme/web", "bob/app", "open/pub"], await ListAsync(new RepositoryFilter(User: "bob")));
        Assert.Equal(["acme/api", "acme/web", "open/pub"], await ListAsync(new RepositoryFilter(Namespace: "acme")));
        Assert.Equal(["acme/api", "acme/web", "alice/app", "bob/app", "open/pub", "solo"], await ListAsync(new RepositoryFilter(Admin: true)));
        // Scopes narrow what the caller holds, never what is public.
        Assert.Equal(["acme/api", "open/pub"], await ListAsync(new RepositoryFilter(User: "alice", Scopes: ["acme/api"])));
        Assert.Equal(["acme/api", "acme/web", "open/pub"], await ListAsync(new RepositoryFilter(User: "alice", Scopes: ["acme/*"])));
        Assert.Equal(["open/pub"], await ListAsync(new RepositoryFilter(Admin: true, Scopes: [])));
        Assert.Equal(["acme/api", "acme/web", "alice/app", "open/pub"], await ListAsync(new RepositoryFilter(User: "alice", Scopes: ["*"])));
        // A list of names is exactly those, public or not.
        Assert.Equal(["solo"], await ListAsync(new RepositoryFilter(Only: ["solo", "missing"])));

        await S.Accounts.SetGrantAsync(new Grant("acme/web", false, "team:acme/devs", Role.None), Now, Ct);
        Assert.Equal(["bob/app", "open/pub"], await ListAsync(new RepositoryFilter(User: "bob")));
    }

    [Fact]
    public async Task AdminOnlyRepositoriesArePrivateUnownedAndUngranted()
    {
        await AccountAsync("alice");
        foreach (var name in new[] { "alice/app", "lost/a", "lost/b", "open/pub", "granted/x" }) await BlobAsync(name, name);
        await S.Repositories.SetVisibilityAsync("open/pub", Visibility.Public, Now, Ct);
        await S.Accounts.SetGrantAsync(new Grant("granted", true, "user:alice", Role.Read), Now, Ct);
        var (count, first) = await S.Repositories.AdminOnlyAsync(1, Ct);
        Assert.Equal(2, count);
        Assert.Equal(["lost/a"], first);
    }
}
