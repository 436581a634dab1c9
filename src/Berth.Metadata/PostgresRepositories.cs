using System.Data.Common;
using Berth.Core.Access;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <param name="fewMatches">See <see cref="SearchTerms.FewMatches"/>; tests lower it to check the other plan gives the same answers.</param>
public sealed class PostgresRepositories(PostgresDatabase db, int fewMatches = SearchTerms.FewMatches) : IRepositories
{
    /// <summary>The namespace of the repository named by the SQL expression <paramref name="name"/> ('' for a single-component name).</summary>
    internal static string Namespace(string name) => $"(CASE WHEN strpos({name}, '/') > 0 THEN split_part({name}, '/', 1) ELSE '' END)";

    /// <summary>The visibility of the repository named by the SQL expression <paramref name="name"/> (which must exist).</summary>
    private static string VisibilityOf(string name) => $"""
        coalesce((SELECT vs.visibility FROM repository_settings vs WHERE vs.name = {name}),
                 (SELECT va.default_visibility FROM accounts va WHERE va.name = {Namespace(name)}), 'private')
        """;

    /// <summary>
    /// The condition that a <see cref="RepositoryFilter"/> admits the repository named by the SQL expression <paramref name="name"/>,
    /// with <see cref="ReadableParameters"/>: <see cref="SqliteRepositories.Readable"/> in this dialect, term for term. The role
    /// part is <see cref="PostgresAccounts.GetRoleAsync"/>'s query, asked only for role > none.
    /// </summary>
    internal static string Readable(string name)
    {
        var ns = Namespace(name);
        return $"""
            (@all
             OR (@only::text[] IS NOT NULL AND {name} = ANY (@only::text[]))
             OR (@only::text[] IS NULL AND ({VisibilityOf(name)} = 'public'
                 OR ((@admin
                      OR (@robotns::text IS NOT NULL AND @robotns::text <> '' AND {ns} = @robotns::text)
                      OR (@user::text IS NOT NULL AND ({ns} = @user::text
                          OR EXISTS (SELECT 1 FROM org_members WHERE organization = {ns} AND member = @user::text AND owner)
                          OR EXISTS (SELECT 1 FROM grants g
                              WHERE ((g.namespace AND g.target = {ns}) OR (NOT g.namespace AND g.target = {name}))
                                AND (g.subject = 'user:' || @user::text OR g.subject IN (SELECT 'team:' || tm.organization || '/' || tm.team FROM team_members tm WHERE tm.member = @user::text))))))
                     AND (@scopes::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest(@scopes::text[]) s(pattern)
                         WHERE s.pattern = '*' OR s.pattern = {name}
                            OR (right(s.pattern, 2) = '/*' AND left({name}, length(s.pattern) - 1) = left(s.pattern, length(s.pattern) - 1))))))))
            """;
    }

    internal static (string, object?)[] ReadableParameters(RepositoryFilter f) =>
    [
        ("@all", f.All), ("@only", f.Only?.ToArray()), ("@admin", f.Admin), ("@robotns", f.Namespace), ("@user", f.User), ("@scopes", f.Scopes?.ToArray()),
    ];

    public async Task<IReadOnlyList<string>> ListAsync(RepositoryFilter readable, string? last, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Strings(c, null, $"SELECT r.name FROM repositories r WHERE r.name > @last AND {Readable("r.name")} ORDER BY r.name LIMIT @n", ct,
            [("@last", last ?? ""), ("@n", limit), .. ReadableParameters(readable)]);
    }

    private static RepositoryEntry ReadRanked(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1) == "public" ? Visibility.Public : Visibility.Private, r.IsDBNull(2) ? null : r.GetString(2),
            r.GetInt32(3), r.GetBoolean(4), r.GetInt64(5));

    /// <summary>What a result row holds, from <c>repository_ranks k</c>.</summary>
    private static readonly string Ranked = $"k.name, {VisibilityOf("k.name")}, k.description, k.stars, k.official, k.pulls";

    private const string RankOrder = "k.official DESC, k.stars DESC, k.pulls DESC, k.name";

    /// <summary>Results after the cursor row (@co, @cs, @cp, @cn) in <see cref="RankOrder"/>; every row when @cn is null.</summary>
    private const string AfterCursor = """
        (@cn::text IS NULL OR (@co::boolean, @cs::int, @cp::bigint) > (k.official, k.stars, k.pulls)
            OR (k.official = @co::boolean AND k.stars = @cs::int AND k.pulls = @cp::bigint AND k.name > @cn::text))
        """;

    private const string Matches = "k.words @@ to_tsquery('simple', @tq)";

    public async Task<SearchPage> SearchAsync(RepositoryFilter readable, SearchQuery query, CancellationToken ct)
    {
        var words = SearchTerms.Words(query.Text);
        var exact = words.Count > 0 ? SearchTerms.ExactName(query.Text) : null;
        var offset = Math.Max(query.Offset, 0);
        var limit = Math.Min(Math.Max(query.Limit, 0), SearchTerms.MaxResults - offset);
        if (limit <= 0) return new SearchPage([], 0);
        var filter = ReadableParameters(readable);
        // Every word a prefix of a word: w1:* & w2:* (the words hold letters and digits only).
        var tsquery = string.Join(" & ", words.Select(w => w + ":*"));
        await using var c = await db.ConnectAsync(ct);

        // The exact name first: on the first page, and counted once.
        RepositoryEntry? first = null;
        if (exact is not null && query.After is null)
        {
            var rows = await Rows(c, null, $"SELECT {Ranked} FROM repository_ranks k WHERE k.name = @exact AND {Readable("k.name")}", ReadRanked, ct,
                [("@exact", exact), .. filter]);
            first = rows.Count > 0 ? rows[0] : null;
        }
        (string, object?)[] cursor = [("@cn", null), ("@co", false), ("@cs", 0), ("@cp", 0L)];
        if (query.After is { } after && after != exact)
        {
            var at = await Rows(c, null, "SELECT name, official, stars, pulls FROM repository_ranks WHERE name = @a",
                r => new (string, object?)[] { ("@cn", r.GetString(0)), ("@co", r.GetBoolean(1)), ("@cs", r.GetInt32(2)), ("@cp", r.GetInt64(3)) }, ct, ("@a", after));
            if (at.Count > 0) cursor = at[0];
        }
        var leading = first is null ? 0 : 1;
        var skip = Math.Max(offset - leading, 0);
        var take = offset == 0 ? limit - leading : limit;
        (string, object?)[] p = [("@exact", exact ?? ""), ("@n", take), ("@skip", skip), ("@tq", tsquery), .. cursor, .. filter];

        var few = words.Count > 0 && Convert.ToInt64(await Scalar(c, null,
            $"SELECT count(*) FROM (SELECT 1 FROM repository_ranks k WHERE {Matches} LIMIT @few) x", ct,
            ("@tq", tsquery), ("@few", fewMatches + 1))) <= fewMatches;
        List<RepositoryEntry> results = [];
        var total = 0;
        if (few)
        {
            // Few matches: all of them from the GIN index, filtered and ranked in full; the window counts them before the page.
            var from = $"FROM (SELECT * FROM repository_ranks k WHERE {Matches} OFFSET 0) k WHERE k.name <> @exact";
            if (take > 0)
            {
                results = await Rows(c, null, $"""
                    SELECT {Ranked}, count(*) OVER () {from} AND {AfterCursor} AND {Readable("k.name")}
                    ORDER BY {RankOrder} LIMIT @n OFFSET @skip
                    """, r => { total = Convert.ToInt32(r.GetInt64(6)); return ReadRanked(r); }, ct, p);
            }
            if (results.Count == 0)
            {
                total = Convert.ToInt32(await Scalar(c, null, $"SELECT count(*) {from} AND {AfterCursor} AND {Readable("k.name")}", ct, p));
            }
        }
        else
        {
            // Many matches (or no words: everything): walk the ranking's index in order, testing each row's words.
            var matches = words.Count == 0 ? "" : $" AND {Matches}";
            if (take > 0)
            {
                results = await Rows(c, null, $"""
                    SELECT {Ranked} FROM repository_ranks k
                    WHERE k.name <> @exact AND {AfterCursor}{matches} AND {Readable("k.name")}
                    ORDER BY {RankOrder} LIMIT @n OFFSET @skip
                    """, ReadRanked, ct, p);
            }
            // The count looks at the first matches only, and stops at the most results served.
            total = Convert.ToInt32(await Scalar(c, null, $"""
                SELECT count(*) FROM (SELECT 1 FROM (SELECT * FROM repository_ranks k WHERE true{matches} LIMIT @scan) k
                    WHERE k.name <> @exact AND {AfterCursor} AND {Readable("k.name")} LIMIT @most) x
                """, ct, [.. p, ("@scan", SearchTerms.CountedMatches), ("@most", SearchTerms.MaxResults)]));
        }
        if (first is not null && offset == 0) results.Insert(0, first);
        return new SearchPage(results, Math.Min(total + leading, SearchTerms.MaxResults));
    }

    public async Task<RepositoryEntry?> GetAsync(string name, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, $"SELECT {Ranked} FROM repository_ranks k WHERE k.name = @r", ReadRanked, ct, ("@r", name));
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<bool> StarAsync(string repository, string user, bool starred, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, starred
            ? "INSERT INTO stars (repository, account, created) SELECT @r, @u, @t WHERE EXISTS (SELECT 1 FROM repositories WHERE name = @r) ON CONFLICT DO NOTHING"
            : "DELETE FROM stars WHERE repository = @r AND account = @u", ct, ("@r", repository), ("@u", user), ("@t", Ms(now))) > 0;
    }

    public async Task<IReadOnlyList<RepositoryEntry>> StarredAsync(RepositoryFilter readable, string user, string? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, $"""
            SELECT {Ranked} FROM stars s JOIN repository_ranks k ON k.name = s.repository
            WHERE s.account = @u AND s.repository > @after AND {Readable("k.name")} ORDER BY s.repository LIMIT @n
            """, ReadRanked, ct, [("@u", user), ("@after", after ?? ""), ("@n", limit), .. ReadableParameters(readable)]);
    }

    public async Task<bool> SetOfficialAsync(string target, bool isNamespace, bool official, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, official
            ? "INSERT INTO official_marks (target, namespace, created) VALUES (@t, @ns, @now) ON CONFLICT DO NOTHING"
            : "DELETE FROM official_marks WHERE target = @t AND namespace = @ns", ct, ("@t", target), ("@ns", isNamespace), ("@now", Ms(now))) > 0;
    }

    public async Task<IReadOnlyList<OfficialMark>> ListOfficialAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT target, namespace, created FROM official_marks ORDER BY namespace DESC, target",
            r => new OfficialMark(r.GetString(0), r.GetBoolean(1), Time(r.GetInt64(2))), ct);
    }

    public async Task<long> GetLabelsCursorAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return Convert.ToInt64(await Scalar(c, null, "SELECT coalesce((SELECT last_event FROM search_cursor WHERE name = 'labels'), 0)", ct));
    }

    public async Task SetLabelsCursorAsync(long lastEvent, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO search_cursor (name, last_event) VALUES ('labels', @e) ON CONFLICT (name) DO UPDATE SET last_event = excluded.last_event", ct, ("@e", lastEvent));
    }

    public async Task SetLabelsAsync(string repository, string? labels, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, string.IsNullOrEmpty(labels)
            ? "DELETE FROM repository_labels WHERE name = @r"
            : "INSERT INTO repository_labels (name, labels, updated) VALUES (@r, @l, @t) ON CONFLICT (name) DO UPDATE SET labels = excluded.labels, updated = excluded.updated",
            ct, ("@r", repository), ("@l", labels), ("@t", Ms(now)));
    }

    public async Task<Visibility> GetVisibilityAsync(string repository, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var v = await Scalar(c, null, """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM repositories WHERE name = @r) THEN coalesce(
                (SELECT visibility FROM repository_settings WHERE name = @r),
                (SELECT default_visibility FROM accounts WHERE name = @ns),
                'private') ELSE 'private' END
            """, ct, ("@r", repository), ("@ns", AccessText.Namespace(repository) ?? ""));
        return v as string == "public" ? Visibility.Public : Visibility.Private;
    }

    public async Task SetVisibilityAsync(string repository, Visibility visibility, DateTimeOffset now, CancellationToken ct)
    {
        await Pg.Recorded(db, new RegistryEvent(0, now, EventKinds.VisibilityChange, repository, Detail: AccessText.Format(visibility)), """
            INSERT INTO repository_settings (name, visibility, updated) VALUES (@r, @v, @t)
            ON CONFLICT (name) DO UPDATE SET visibility = excluded.visibility, updated = excluded.updated
            """, ct, ("@r", repository), ("@v", AccessText.Format(visibility)), ("@t", Ms(now)));
    }

    public async Task SetDescriptionAsync(string repository, string? description, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, """
            INSERT INTO repository_settings (name, description, updated) VALUES (@r, @d, @t)
            ON CONFLICT (name) DO UPDATE SET description = excluded.description, updated = excluded.updated
            """, ct, ("@r", repository), ("@d", description), ("@t", Ms(now)));
    }

    public async Task SetNamespaceVisibilityAsync(string ns, Visibility visibility, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        // The namespace's account row is locked first, so two changes of its default apply one after the other.
        await Exec(c, tx, "SELECT 1 FROM accounts WHERE name = @ns FOR UPDATE", ct, ("@ns", ns));
        // Repositories that followed the old default keep it: record it on each before the default changes. "ns/" up to
        // "ns0" ('0' follows '/') is every name under the namespace, a range of the primary key.
        await Exec(c, tx, """
            INSERT INTO repository_settings (name, visibility, updated)
            SELECT r.name, coalesce((SELECT default_visibility FROM accounts WHERE name = @ns), 'private'), @t
            FROM repositories r WHERE r.name >= @ns || '/' AND r.name < @ns || '0'
            ON CONFLICT (name) DO UPDATE SET visibility = coalesce(repository_settings.visibility, excluded.visibility)
            """, ct, ("@ns", ns), ("@t", Ms(now)));
        await Exec(c, tx, "UPDATE accounts SET default_visibility = @v WHERE name = @ns", ct, ("@ns", ns), ("@v", AccessText.Format(visibility)));
        await Pg.Events(c, tx, ct, new RegistryEvent(0, now, EventKinds.VisibilityChange, null, ns, Detail: AccessText.Format(visibility)));
        await tx.CommitAsync(ct);
    }

    public async Task<(int Count, IReadOnlyList<string> First)> AdminOnlyAsync(int first, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var adminOnly = $"""
            WITH r AS (SELECT name, {Namespace("name")} AS ns FROM repositories)
            SELECT r.name FROM r
            WHERE coalesce((SELECT visibility FROM repository_settings WHERE name = r.name),
                           (SELECT default_visibility FROM accounts WHERE name = r.ns), 'private') = 'private'
              AND NOT EXISTS (SELECT 1 FROM accounts WHERE name = r.ns AND kind IN ('user', 'organization'))
              AND NOT EXISTS (SELECT 1 FROM grants WHERE (NOT namespace AND target = r.name) OR (namespace AND target = r.ns))
            """;
        var count = Convert.ToInt32(await Scalar(c, null, $"SELECT count(*) FROM ({adminOnly}) q", ct));
        var names = count == 0 ? [] : await Strings(c, null, adminOnly + " ORDER BY r.name LIMIT @n", ct, ("@n", first));
        return (count, names);
    }
}
