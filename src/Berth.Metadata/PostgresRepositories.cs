using System.Data.Common;
using Berth.Core.Access;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class PostgresRepositories(PostgresDatabase db) : IRepositories
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

    private static RepositoryEntry ReadEntry(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1) == "public" ? Visibility.Public : Visibility.Private, r.IsDBNull(2) ? null : r.GetString(2));

    public async Task<IReadOnlyList<string>> ListAsync(RepositoryFilter readable, string? last, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Strings(c, null, $"SELECT r.name FROM repositories r WHERE r.name > @last AND {Readable("r.name")} ORDER BY r.name LIMIT @n", ct,
            [("@last", last ?? ""), ("@n", limit), .. ReadableParameters(readable)]);
    }

    public async Task<IReadOnlyList<RepositoryEntry>> SearchAsync(RepositoryFilter readable, string query, string? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        // A substring as a LIKE pattern (so the trigram indexes apply); the name is matched as written, the description lower-cased.
        var pattern = "%" + query.ToLowerInvariant().Replace(@"\", @"\\").Replace("%", @"\%").Replace("_", @"\_") + "%";
        return await Rows(c, null, $"""
            SELECT r.name, {VisibilityOf("r.name")}, s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name
            WHERE r.name > @after AND (r.name LIKE @q OR lower(coalesce(s.description, '')) LIKE @q) AND {Readable("r.name")}
            ORDER BY r.name LIMIT @n
            """, ReadEntry, ct, [("@q", pattern), ("@after", after ?? ""), ("@n", limit), .. ReadableParameters(readable)]);
    }

    public async Task<RepositoryEntry?> GetAsync(string name, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, $"""
            SELECT r.name, {VisibilityOf("r.name")}, s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name
            WHERE r.name = @r
            """, ReadEntry, ct, ("@r", name));
        return rows.Count > 0 ? rows[0] : null;
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
