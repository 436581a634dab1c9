using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Metadata;

namespace Berth.Backends.Tests;

/// <summary>
/// Search, stars and official marks (<see cref="IRepositories.SearchAsync"/>): which repositories a query matches, their
/// ranking, paging, and that a repository the caller may not pull is neither found nor counted. Each backend runs it twice:
/// with its usual plans (these small stores take the "few matches" one) and with every query taking the "many matches" one.
/// </summary>
public abstract class SearchContract : StoreContract
{
    private async Task<SearchPage> FindAsync(string text, RepositoryFilter? filter = null, int limit = 25, int offset = 0, string? after = null) =>
        await S.Repositories.SearchAsync(filter ?? RepositoryFilter.Everything, new SearchQuery(text, limit, offset, after), Ct);

    private async Task<List<string>> NamesAsync(string text, RepositoryFilter? filter = null, int limit = 25, int offset = 0, string? after = null) =>
        (await FindAsync(text, filter, limit, offset, after)).Results.Select(r => r.Name).ToList();

    private async Task PublicAsync(params string[] names)
    {
        foreach (var name in names)
        {
            await BlobAsync(name, name);
            await S.Repositories.SetVisibilityAsync(name, Visibility.Public, Now, Ct);
        }
    }

    [Fact]
    public async Task EveryWordBeginsAWordOfTheNameDescriptionOrLabels()
    {
        await PublicAsync("acme/web-server", "acme/api", "tools/webhook", "other/thing");
        await S.Repositories.SetDescriptionAsync("acme/api", "The REST gateway, written in Go", Now, Ct);
        await S.Repositories.SetLabelsAsync("other/thing", "org.opencontainers.image.vendor Initech", Now, Ct);

        Assert.Equal(["acme/web-server", "tools/webhook"], await NamesAsync("web"));
        Assert.Equal(["acme/web-server"], await NamesAsync("SERVER web"));
        Assert.Equal(["acme/api"], await NamesAsync("gate"));
        Assert.Equal(["acme/api"], await NamesAsync("rest go"));
        Assert.Equal(["other/thing"], await NamesAsync("initech"));
        Assert.Equal(["acme/api", "acme/web-server"], await NamesAsync("acme"));
        // Inside a word is no match ("ebhook", "cme"); nor is a word of nothing.
        Assert.Empty(await NamesAsync("ebhook"));
        Assert.Empty(await NamesAsync("cme"));
        Assert.Equal(0, (await FindAsync("zzz")).Total);
        // Characters that mean something to FTS5 or tsquery are separators, nothing more.
        Assert.Equal(["acme/api"], await NamesAsync("\"rest\" & (go*) | -:"));

        // Labels and descriptions are indexed as they change.
        await S.Repositories.SetLabelsAsync("other/thing", null, Now, Ct);
        Assert.Empty(await NamesAsync("initech"));
        await S.Repositories.SetDescriptionAsync("acme/api", "now in Rust", Now, Ct);
        Assert.Empty(await NamesAsync("gateway"));
        Assert.Equal(["acme/api"], await NamesAsync("rust"));
        await S.Repositories.SetVisibilityAsync("acme/api", Visibility.Private, Now, Ct);
        Assert.Equal(["acme/api"], await NamesAsync("rust"));
        Assert.Empty(await NamesAsync("rust", RepositoryFilter.Anonymous));
    }

    [Fact]
    public async Task TheExactNameComesFirstThenOfficialThenStarsThenName()
    {
        await AccountAsync("alice");
        await AccountAsync("bob");
        await PublicAsync("base/b", "base/a", "zeta/base", "library/base", "acme/base-tools", "base");
        // library/ is official without a mark; a namespace's mark covers its repositories, also those pushed later.
        await S.Repositories.SetOfficialAsync("acme", isNamespace: true, official: true, Now, Ct);
        Assert.True(await S.Repositories.StarAsync("base/b", "alice", true, Now, Ct));
        Assert.True(await S.Repositories.StarAsync("base/b", "bob", true, Now, Ct));
        Assert.True(await S.Repositories.StarAsync("zeta/base", "alice", true, Now, Ct));

        // "base" names a repository exactly: it leads, then official (by name), then by stars, then by name.
        Assert.Equal(["base", "acme/base-tools", "library/base", "base/b", "zeta/base", "base/a"], await NamesAsync("base"));
        var page = await FindAsync("base");
        Assert.Equal(6, page.Total);
        Assert.Equal((2, false), (page.Results[3].Stars, page.Results[3].Official));
        Assert.True(page.Results[1].Official);

        // Every word must match; the exact name leads even an official repository.
        Assert.Equal(["base/a", "acme/base-tools"], await NamesAsync("base/a"));

        // Unmarking and unstarring move them back.
        await S.Repositories.SetOfficialAsync("acme", true, false, Now, Ct);
        Assert.True(await S.Repositories.StarAsync("base/b", "bob", false, Now, Ct));
        Assert.False(await S.Repositories.StarAsync("base/b", "bob", false, Now, Ct));
        Assert.True(await S.Repositories.StarAsync("base/a", "bob", true, Now, Ct));
        Assert.Equal(["base", "library/base", "base/a", "base/b", "zeta/base", "acme/base-tools"], await NamesAsync("base"));
        // A repository marked on its own; a repository pushed into a marked namespace.
        await S.Repositories.SetOfficialAsync("zeta/base", false, true, Now, Ct);
        await S.Repositories.SetOfficialAsync("newns", true, true, Now, Ct);
        await PublicAsync("newns/base");
        // Official first, and among them by stars: zeta/base has one.
        Assert.Equal(["base", "zeta/base", "library/base", "newns/base"], (await NamesAsync("base")).Take(4));
        Assert.Equal([new OfficialMark("newns", true, Now), new OfficialMark("zeta/base", false, Now)],
            (await S.Repositories.ListOfficialAsync(Ct)).Select(m => m with { Created = Now }));
    }

    [Fact]
    public async Task PagesByOffsetAndAfterARepositoryCoverEveryResultOnce()
    {
        await AccountAsync("alice");
        var names = Enumerable.Range(0, 12).Select(i => $"page/r{i:D2}").ToList();
        await PublicAsync([.. names, "page"]);
        await S.Repositories.StarAsync("page/r07", "alice", true, Now, Ct);
        List<string> expected = ["page", "page/r07", .. names.Where(n => n != "page/r07")];

        var byOffset = new List<string>();
        for (var offset = 0; offset < 20; offset += 5)
        {
            var page = await FindAsync("page", limit: 5, offset: offset);
            Assert.Equal(13, page.Total);
            byOffset.AddRange(page.Results.Select(r => r.Name));
        }
        Assert.Equal(expected, byOffset);

        var byCursor = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await NamesAsync("page", limit: 4, after: after);
            if (page.Count == 0) break;
            byCursor.AddRange(page);
            after = page[^1];
        }
        Assert.Equal(expected, byCursor);

        // No words: every repository the caller may pull, ranked.
        Assert.Equal(["page/r07", "page", "page/r00"], await NamesAsync("  ", limit: 3));
        Assert.Equal(13, (await FindAsync("")).Total);
        // Never past the most results served.
        Assert.Empty((await FindAsync("page", offset: SearchTerms.MaxResults)).Results);
    }

    [Fact]
    public async Task WhatTheCallerMayNotPullIsNeitherFoundNorCounted()
    {
        await AccountAsync("alice");
        await AccountAsync("bob");
        await BlobAsync("alice/secret", "s");
        await BlobAsync("alice/secret-two", "s2");
        await S.Repositories.SetDescriptionAsync("alice/secret", "secret plans", Now, Ct);
        await PublicAsync("open/secret");
        await S.Repositories.SetOfficialAsync("alice/secret", false, true, Now, Ct);
        await S.Repositories.StarAsync("alice/secret", "alice", true, Now, Ct);

        foreach (var stranger in new[] { RepositoryFilter.Anonymous, new RepositoryFilter(User: "bob"), new RepositoryFilter(Only: ["open/secret"]) })
        {
            // Not found by its exact name nor by its words, not counted.
            Assert.Empty(await NamesAsync("alice/secret", stranger));
            Assert.Equal(0, (await FindAsync("alice/secret", stranger)).Total);
            Assert.Equal(["open/secret"], await NamesAsync("secret", stranger));
            Assert.Equal(1, (await FindAsync("secret", stranger)).Total);
            Assert.Equal(0, (await FindAsync("plans", stranger)).Total);
            Assert.Equal(1, (await FindAsync("", stranger)).Total);
            Assert.Empty(await S.Repositories.StarredAsync(stranger, "alice", null, 10, Ct));
        }
        var alice = new RepositoryFilter(User: "alice");
        Assert.Equal(["alice/secret", "alice/secret-two"], await NamesAsync("alice/secret", alice));
        Assert.Equal(["alice/secret", "alice/secret-two", "open/secret"], await NamesAsync("secret", alice));
        Assert.Equal(3, (await FindAsync("secret", alice)).Total);
        Assert.Equal(["alice/secret"], (await S.Repositories.StarredAsync(alice, "alice", null, 10, Ct)).Select(r => r.Name));
    }

    [Fact]
    public async Task StarsCountUsersAndGoWithTheAccount()
    {
        await AccountAsync("alice");
        await AccountAsync("bob");
        await PublicAsync("s/one", "s/two");
        Assert.True(await S.Repositories.StarAsync("s/one", "alice", true, Now, Ct));
        Assert.False(await S.Repositories.StarAsync("s/one", "alice", true, Now, Ct));
        Assert.True(await S.Repositories.StarAsync("s/one", "bob", true, Now, Ct));
        Assert.True(await S.Repositories.StarAsync("s/two", "bob", true, Now, Ct));
        Assert.False(await S.Repositories.StarAsync("s/missing", "bob", true, Now, Ct));
        Assert.Equal(2, (await S.Repositories.GetAsync("s/one", Ct))!.Stars);
        Assert.Equal(["s/one", "s/two"], (await S.Repositories.StarredAsync(RepositoryFilter.Everything, "bob", null, 10, Ct)).Select(r => r.Name));
        Assert.Equal(["s/two"], (await S.Repositories.StarredAsync(RepositoryFilter.Everything, "bob", "s/one", 10, Ct)).Select(r => r.Name));

        await S.Accounts.DeleteAccountAsync("bob", Now, Ct);
        Assert.Equal(1, (await S.Repositories.GetAsync("s/one", Ct))!.Stars);
        Assert.Equal(0, (await S.Repositories.GetAsync("s/two", Ct))!.Stars);
        Assert.Empty(await S.Repositories.StarredAsync(RepositoryFilter.Everything, "bob", null, 10, Ct));
    }

    [Fact]
    public async Task TheIndexSurvivesReopeningAndCoversRepositoriesMadeBeforeIt()
    {
        await PublicAsync("keep/me");
        await S.Repositories.SetDescriptionAsync("keep/me", "durable words", Now, Ct);
        S = await OpenAsync();
        Assert.Equal(["keep/me"], await NamesAsync("durable"));
    }
}

public sealed class SqliteSearchTests : SearchContract
{
    protected override Task<Stores> OpenAsync() => Sqlite.OpenAsync(Temp);
}

/// <summary>SQLite with every query that matches anything taking the plan for many matches.</summary>
public sealed class SqliteSearchManyTests : SearchContract
{
    protected override async Task<Stores> OpenAsync()
    {
        var stores = await Sqlite.OpenAsync(Temp);
        var db = await SqliteDatabase.OpenAsync(Path.Combine(Temp.Path, "berth.db"), TimeProvider.System, CancellationToken.None);
        return stores with { Repositories = new SqliteRepositories(db, fewMatches: 0) };
    }
}

public sealed class PostgresSearchTests : SearchContract
{
    private readonly PostgresScratch _db = new();
    protected override Task<Stores> OpenAsync() => _db.OpenAsync();
    public override async Task DisposeAsync() => await _db.DisposeAsync();
}

/// <summary>PostgreSQL with every query that matches anything taking the plan for many matches.</summary>
public sealed class PostgresSearchManyTests : SearchContract
{
    private readonly PostgresScratch _db = new();
    private readonly List<PostgresDatabase> _opened = [];

    protected override async Task<Stores> OpenAsync()
    {
        var stores = await _db.OpenAsync();
        var db = await PostgresDatabase.OpenAsync(await _db.ConnectionStringAsync(), TimeProvider.System, CancellationToken.None);
        _opened.Add(db);
        return stores with { Repositories = new PostgresRepositories(db, fewMatches: 0) };
    }

    public override async Task DisposeAsync()
    {
        foreach (var db in _opened) await db.DisposeAsync();
        await _db.DisposeAsync();
    }
}
