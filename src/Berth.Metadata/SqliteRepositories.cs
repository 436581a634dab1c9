using System.Data.Common;
using System.Text.Json;
using Berth.Core.Access;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteRepositories(SqliteDatabase db) : IRepositories
{
    /// <summary>The visibility of the repository named by the SQL expression <paramref name="name"/> (which must exist).</summary>
    private static string VisibilityOf(string name) => $"""
        coalesce((SELECT visibility FROM repository_settings WHERE name = {name}),
                 (SELECT default_visibility FROM accounts WHERE name = {Namespace(name)}), 'private')
        """;

    /// <summary>
    /// The condition that a <see cref="RepositoryFilter"/> admits the repository named by the SQL expression <paramref name="name"/>,
    /// with <see cref="ReadableParameters"/>. The role part is <see cref="SqliteAccounts.GetRoleAsync"/>'s query, asked only for role > none.
    /// </summary>
    internal static string Readable(string name)
    {
        var ns = Namespace(name);
        return $"""
            ($all = 1
             OR ($only IS NOT NULL AND {name} IN (SELECT value FROM json_each($only)))
             OR ($only IS NULL AND ({VisibilityOf(name)} = 'public'
                 OR (($admin = 1
                      OR ($robotns IS NOT NULL AND $robotns <> '' AND {ns} = $robotns)
                      OR ($user IS NOT NULL AND ({ns} = $user
                          OR EXISTS (SELECT 1 FROM org_members WHERE organization = {ns} AND member = $user AND owner = 1)
                          OR EXISTS (SELECT 1 FROM grants
                              WHERE ((namespace = 1 AND target = {ns}) OR (namespace = 0 AND target = {name}))
                                AND (subject = 'user:' || $user OR subject IN (SELECT 'team:' || organization || '/' || team FROM team_members WHERE member = $user))))))
                     AND ($scopes IS NULL OR EXISTS (SELECT 1 FROM json_each($scopes) s
                         WHERE s.value = '*' OR s.value = {name}
                            OR (s.value LIKE '%/*' AND substr({name}, 1, length(s.value) - 1) = substr(s.value, 1, length(s.value) - 1))))))))
            """;
    }

    internal static (string, object?)[] ReadableParameters(RepositoryFilter f) =>
    [
        ("$all", f.All ? 1 : 0), ("$only", Json(f.Only)), ("$admin", f.Admin ? 1 : 0), ("$robotns", f.Namespace), ("$user", f.User), ("$scopes", Json(f.Scopes)),
    ];

    private static string? Json(IReadOnlyList<string>? list) =>
        list is null ? null : JsonSerializer.Serialize(list, RepositoryJson.Default.IReadOnlyListString);

    private static RepositoryEntry ReadEntry(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1) == "public" ? Visibility.Public : Visibility.Private, r.IsDBNull(2) ? null : r.GetString(2));

    private static readonly string ListSql = $"SELECT name FROM repositories r WHERE name > $last AND {Readable("r.name")} ORDER BY name LIMIT $n";

    public Task<IReadOnlyList<string>> ListAsync(RepositoryFilter readable, string? last, int limit, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<string>>(ReadStrings(db, ListSql, ct, [("$last", last ?? ""), ("$n", limit), .. ReadableParameters(readable)]));

    public async Task<IReadOnlyList<RepositoryEntry>> SearchAsync(RepositoryFilter readable, string query, string? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, $"""
            SELECT r.name, {VisibilityOf("r.name")}, s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name
            WHERE r.name > $after AND (instr(r.name, $q) > 0 OR instr(lower(coalesce(s.description, '')), $q) > 0) AND {Readable("r.name")}
            ORDER BY r.name LIMIT $n
            """, ReadEntry, ct, [("$q", query.ToLowerInvariant()), ("$after", after ?? ""), ("$n", limit), .. ReadableParameters(readable)]);
    }

    public async Task<RepositoryEntry?> GetAsync(string name, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, $"""
            SELECT r.name, {VisibilityOf("r.name")}, s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name
            WHERE r.name = $r
            """, ReadEntry, ct, ("$r", name));
        return rows.Count > 0 ? rows[0] : null;
    }

    public Task<Visibility> GetVisibilityAsync(string repository, CancellationToken ct)
    {
        var v = ReadScalar(db, """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM repositories WHERE name = $r) THEN coalesce(
                (SELECT visibility FROM repository_settings WHERE name = $r),
                (SELECT default_visibility FROM accounts WHERE name = $ns),
                'private') ELSE 'private' END
            """, ct, ("$r", repository), ("$ns", AccessText.Namespace(repository) ?? ""));
        return Task.FromResult(v as string == "public" ? Visibility.Public : Visibility.Private);
    }

    public async Task SetVisibilityAsync(string repository, Visibility visibility, DateTimeOffset now, CancellationToken ct)
    {
        await Recorded(db, new RegistryEvent(0, now, EventKinds.VisibilityChange, repository, Detail: AccessText.Format(visibility)), """
            INSERT INTO repository_settings (name, visibility, updated) VALUES ($r, $v, $t)
            ON CONFLICT DO UPDATE SET visibility = excluded.visibility, updated = excluded.updated
            """, ct, ("$r", repository), ("$v", AccessText.Format(visibility)), ("$t", Ms(now)));
    }

    public async Task SetDescriptionAsync(string repository, string? description, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, """
            INSERT INTO repository_settings (name, description, updated) VALUES ($r, $d, $t)
            ON CONFLICT DO UPDATE SET description = excluded.description, updated = excluded.updated
            """, ct, ("$r", repository), ("$d", description), ("$t", Ms(now)));
    }

    public async Task SetNamespaceVisibilityAsync(string ns, Visibility visibility, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        // Repositories that followed the old default keep it: record it on each before the default changes.
        await Exec(c, tx, """
            INSERT INTO repository_settings (name, visibility, updated)
            SELECT r.name, coalesce((SELECT default_visibility FROM accounts WHERE name = $ns), 'private'), $t
            FROM repositories r WHERE substr(r.name, 1, length($ns) + 1) = $ns || '/'
            ON CONFLICT (name) DO UPDATE SET visibility = coalesce(visibility, excluded.visibility)
            """, ct, ("$ns", ns), ("$t", Ms(now)));
        await Exec(c, tx, "UPDATE accounts SET default_visibility = $v WHERE name = $ns", ct, ("$ns", ns), ("$v", AccessText.Format(visibility)));
        await Event(c, tx, new RegistryEvent(0, now, EventKinds.VisibilityChange, null, ns, Detail: AccessText.Format(visibility)), ct);
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
              AND NOT EXISTS (SELECT 1 FROM grants WHERE (namespace = 0 AND target = r.name) OR (namespace = 1 AND target = r.ns))
            """;
        var count = Convert.ToInt32(await Scalar(c, null, $"SELECT count(*) FROM ({adminOnly})", ct));
        var names = count == 0 ? [] : await Strings(c, null, adminOnly + " ORDER BY r.name LIMIT $n", ct, ("$n", first));
        return (count, names);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class RepositoryJson : System.Text.Json.Serialization.JsonSerializerContext;
