using Berth.Core.Access;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>Accounts, organisations, teams, grants, tokens and repository settings in the shared SQLite file.</summary>
public sealed class SqliteAccountStore(SqliteDatabase db) : IAccountStore
{
    private static string Kind(AccountKind kind) => kind switch
    {
        AccountKind.User => "user",
        AccountKind.Robot => "robot",
        _ => "organization",
    };

    private static AccountKind ParseKind(string text) => text switch
    {
        "user" => AccountKind.User,
        "robot" => AccountKind.Robot,
        _ => AccountKind.Organization,
    };

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private const string AccountColumns = "name, kind, password_hash, admin, default_visibility, created";

    private static Account ReadAccount(SqliteDataReader r) => new(r.GetString(0), ParseKind(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2),
        r.GetInt64(3) != 0, r.GetString(4) == "public" ? Visibility.Public : Visibility.Private, Time(r.GetInt64(5)));

    public async Task<int> CountUsersAsync(CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return Convert.ToInt32(await Scalar(c, null, "SELECT count(*) FROM accounts WHERE kind = 'user'", ct));
    }

    public async Task<Account?> GetAccountAsync(string name, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var rows = await Rows(c, null, $"SELECT {AccountColumns} FROM accounts WHERE name = $n", ReadAccount, ct, ("$n", name));
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<IReadOnlyList<Account>> ListAccountsAsync(AccountKind? kind, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Rows(c, null, $"SELECT {AccountColumns} FROM accounts WHERE $k IS NULL OR kind = $k ORDER BY name", ReadAccount, ct,
            ("$k", kind is { } k ? Kind(k) : null));
    }

    public async Task<bool> CreateAccountAsync(Account a, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null,
            "INSERT INTO accounts (name, kind, password_hash, admin, default_visibility, created) VALUES ($n, $k, $h, $a, $v, $t) ON CONFLICT DO NOTHING", ct,
            ("$n", a.Name), ("$k", Kind(a.Kind)), ("$h", a.PasswordHash), ("$a", a.IsAdmin ? 1 : 0), ("$v", AccessText.Format(a.DefaultVisibility)), ("$t", Ms(a.Created))) == 1;
    }

    public async Task<bool> UpsertUserAsync(string name, string passwordHash, bool isAdmin, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, """
            INSERT INTO accounts (name, kind, password_hash, admin, created) VALUES ($n, 'user', $h, $a, $t)
            ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, admin = excluded.admin WHERE kind = 'user'
            """, ct, ("$n", name), ("$h", passwordHash), ("$a", isAdmin ? 1 : 0), ("$t", Ms(now))) == 1;
    }

    public async Task<bool> SetAdminAsync(string name, bool isAdmin, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, "UPDATE accounts SET admin = $a WHERE name = $n AND kind = 'user'", ct, ("$n", name), ("$a", isAdmin ? 1 : 0)) == 1;
    }

    public async Task<(int Count, IReadOnlyList<string> First)> AdminOnlyRepositoriesAsync(int first, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        const string AdminOnly = """
            WITH r AS (SELECT name, CASE WHEN instr(name, '/') > 0 THEN substr(name, 1, instr(name, '/') - 1) ELSE '' END AS ns FROM repositories)
            SELECT r.name FROM r
            WHERE coalesce((SELECT visibility FROM repository_settings WHERE name = r.name),
                           (SELECT default_visibility FROM accounts WHERE name = r.ns), 'private') = 'private'
              AND NOT EXISTS (SELECT 1 FROM accounts WHERE name = r.ns AND kind IN ('user', 'organization'))
              AND NOT EXISTS (SELECT 1 FROM grants WHERE (namespace = 0 AND target = r.name) OR (namespace = 1 AND target = r.ns))
            """;
        var count = Convert.ToInt32(await Scalar(c, null, $"SELECT count(*) FROM ({AdminOnly})", ct));
        var names = count == 0 ? [] : await Strings(c, null, AdminOnly + " ORDER BY r.name LIMIT $n", ct, ("$n", first));
        return (count, names);
    }

    public async Task<bool> SetPasswordAsync(string name, string passwordHash, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, "UPDATE accounts SET password_hash = $h WHERE name = $n AND kind = 'user'", ct, ("$n", name), ("$h", passwordHash)) == 1;
    }

    public async Task<bool> DeleteAccountAsync(string name, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var deleted = await Exec(c, tx, "DELETE FROM accounts WHERE name = $n", ct, ("$n", name)) == 1;
        if (deleted)
        {
            await Exec(c, tx, """
                DELETE FROM org_members WHERE member = $n OR organization = $n;
                DELETE FROM team_members WHERE member = $n OR organization = $n;
                DELETE FROM teams WHERE organization = $n;
                DELETE FROM grants WHERE subject = 'user:' || $n OR subject LIKE 'team:' || replace(replace($n, '_', '\_'), '%', '\%') || '/%' ESCAPE '\';
                UPDATE tokens SET revoked = $t WHERE account = $n AND revoked IS NULL;
                """, ct, ("$n", name), ("$t", db.Now()));
        }
        await tx.CommitAsync(ct);
        return deleted;
    }

    public async Task SetDefaultVisibilityAsync(string ns, Visibility visibility, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        // Repositories that followed the old default keep it: record it on each before the default changes.
        await Exec(c, tx, """
            INSERT INTO repository_settings (name, visibility, updated)
            SELECT r.name, coalesce((SELECT default_visibility FROM accounts WHERE name = $ns), 'private'), $t
            FROM repositories r WHERE substr(r.name, 1, length($ns) + 1) = $ns || '/'
            ON CONFLICT (name) DO UPDATE SET visibility = coalesce(visibility, excluded.visibility)
            """, ct, ("$ns", ns), ("$t", db.Now()));
        await Exec(c, tx, "UPDATE accounts SET default_visibility = $v WHERE name = $ns", ct, ("$ns", ns), ("$v", AccessText.Format(visibility)));
        await tx.CommitAsync(ct);
    }

    public async Task SetMemberAsync(string organization, string user, bool owner, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await Exec(c, null, "INSERT INTO org_members (organization, member, owner) VALUES ($o, $u, $w) ON CONFLICT DO UPDATE SET owner = excluded.owner", ct,
            ("$o", organization), ("$u", user), ("$w", owner ? 1 : 0));
    }

    public async Task<bool> RemoveMemberAsync(string organization, string user, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var removed = await Exec(c, tx, "DELETE FROM org_members WHERE organization = $o AND member = $u", ct, ("$o", organization), ("$u", user)) == 1;
        await Exec(c, tx, "DELETE FROM team_members WHERE organization = $o AND member = $u", ct, ("$o", organization), ("$u", user));
        await tx.CommitAsync(ct);
        return removed;
    }

    public async Task<IReadOnlyList<Member>> ListMembersAsync(string organization, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Rows(c, null, "SELECT member, owner FROM org_members WHERE organization = $o ORDER BY member",
            r => new Member(r.GetString(0), r.GetInt64(1) != 0), ct, ("$o", organization));
    }

    public async Task<bool> CreateTeamAsync(string organization, string team, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, "INSERT INTO teams (organization, name, created) VALUES ($o, $t, $c) ON CONFLICT DO NOTHING", ct,
            ("$o", organization), ("$t", team), ("$c", Ms(now))) == 1;
    }

    public async Task<bool> DeleteTeamAsync(string organization, string team, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var deleted = await Exec(c, tx, "DELETE FROM teams WHERE organization = $o AND name = $t", ct, ("$o", organization), ("$t", team)) == 1;
        await Exec(c, tx, "DELETE FROM team_members WHERE organization = $o AND team = $t; DELETE FROM grants WHERE subject = 'team:' || $o || '/' || $t;", ct,
            ("$o", organization), ("$t", team));
        await tx.CommitAsync(ct);
        return deleted;
    }

    public async Task<IReadOnlyList<Team>> ListTeamsAsync(string organization, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var members = await Rows(c, null, "SELECT team, member FROM team_members WHERE organization = $o ORDER BY member",
            r => (Team: r.GetString(0), Member: r.GetString(1)), ct, ("$o", organization));
        var teams = await Strings(c, null, "SELECT name FROM teams WHERE organization = $o ORDER BY name", ct, ("$o", organization));
        return teams.Select(t => new Team(organization, t, members.Where(m => m.Team == t).Select(m => m.Member).ToList())).ToList();
    }

    public async Task<bool> AddTeamMemberAsync(string organization, string team, string user, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, """
            INSERT INTO team_members (organization, team, member)
            SELECT $o, $t, $u WHERE EXISTS (SELECT 1 FROM teams WHERE organization = $o AND name = $t)
            ON CONFLICT DO NOTHING
            """, ct, ("$o", organization), ("$t", team), ("$u", user)) == 1
            || await Scalar(c, null, "SELECT 1 FROM team_members WHERE organization = $o AND team = $t AND member = $u", ct,
                ("$o", organization), ("$t", team), ("$u", user)) is not null;
    }

    public async Task<bool> RemoveTeamMemberAsync(string organization, string team, string user, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, "DELETE FROM team_members WHERE organization = $o AND team = $t AND member = $u", ct,
            ("$o", organization), ("$t", team), ("$u", user)) == 1;
    }

    public async Task SetGrantAsync(Grant g, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        if (g.Role == Role.None)
        {
            await Exec(c, null, "DELETE FROM grants WHERE target = $t AND namespace = $n AND subject = $s", ct,
                ("$t", g.Target), ("$n", g.IsNamespace ? 1 : 0), ("$s", g.Subject));
            return;
        }
        await Exec(c, null, """
            INSERT INTO grants (target, namespace, subject, role, created) VALUES ($t, $n, $s, $r, $c)
            ON CONFLICT DO UPDATE SET role = excluded.role
            """, ct, ("$t", g.Target), ("$n", g.IsNamespace ? 1 : 0), ("$s", g.Subject), ("$r", (int)g.Role), ("$c", Ms(now)));
    }

    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(string target, bool isNamespace, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Rows(c, null, "SELECT subject, role FROM grants WHERE target = $t AND namespace = $n ORDER BY subject",
            r => new Grant(target, isNamespace, r.GetString(0), (Role)r.GetInt64(1)), ct, ("$t", target), ("$n", isNamespace ? 1 : 0));
    }

    public async Task<Role> GetRoleAsync(string user, string repository, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var role = await Scalar(c, null, """
            SELECT max(r) FROM (
                SELECT 3 AS r WHERE $ns = $u
                UNION ALL SELECT 3 FROM org_members WHERE organization = $ns AND member = $u AND owner = 1
                UNION ALL SELECT role FROM grants
                    WHERE ((namespace = 1 AND target = $ns) OR (namespace = 0 AND target = $repo))
                      AND (subject = 'user:' || $u OR subject IN (SELECT 'team:' || organization || '/' || team FROM team_members WHERE member = $u))
            )
            """, ct, ("$u", user), ("$ns", AccessText.Namespace(repository) ?? ""), ("$repo", repository));
        return role is null ? Role.None : (Role)Convert.ToInt32(role);
    }

    public async Task<Visibility> GetVisibilityAsync(string repository, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var v = await Scalar(c, null, """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM repositories WHERE name = $r) THEN coalesce(
                (SELECT visibility FROM repository_settings WHERE name = $r),
                (SELECT default_visibility FROM accounts WHERE name = $ns),
                'private') ELSE 'private' END
            """, ct, ("$r", repository), ("$ns", AccessText.Namespace(repository) ?? ""));
        return v as string == "public" ? Visibility.Public : Visibility.Private;
    }

    public async Task SetVisibilityAsync(string repository, Visibility visibility, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await Exec(c, null, """
            INSERT INTO repository_settings (name, visibility, updated) VALUES ($r, $v, $t)
            ON CONFLICT DO UPDATE SET visibility = excluded.visibility, updated = excluded.updated
            """, ct, ("$r", repository), ("$v", AccessText.Format(visibility)), ("$t", Ms(now)));
    }

    public async Task SetDescriptionAsync(string repository, string? description, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await Exec(c, null, """
            INSERT INTO repository_settings (name, description, updated) VALUES ($r, $d, $t)
            ON CONFLICT DO UPDATE SET description = excluded.description, updated = excluded.updated
            """, ct, ("$r", repository), ("$d", description), ("$t", Ms(now)));
    }

    public async Task<IReadOnlyList<RepositoryEntry>> SearchRepositoriesAsync(string query, string? after, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Rows(c, null, """
            SELECT r.name, s.description FROM repositories r LEFT JOIN repository_settings s ON s.name = r.name
            WHERE r.name > $after AND (instr(r.name, $q) > 0 OR instr(lower(coalesce(s.description, '')), $q) > 0)
            ORDER BY r.name LIMIT $n
            """, r => new RepositoryEntry(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)), ct,
            ("$q", query.ToLowerInvariant()), ("$after", after ?? ""), ("$n", limit));
    }

    private const string TokenColumns = "id, account, name, secret_hash, scopes, created, expires, revoked";

    private static AccessToken ReadToken(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.GetString(4).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(TokenScope.Parse).OfType<TokenScope>().ToList(),
        Time(r.GetInt64(5)), r.IsDBNull(6) ? null : Time(r.GetInt64(6)), r.IsDBNull(7) ? null : Time(r.GetInt64(7)));

    public async Task CreateTokenAsync(AccessToken t, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await Exec(c, null, $"INSERT INTO tokens ({TokenColumns}) VALUES ($i, $a, $n, $h, $s, $c, $e, NULL)", ct,
            ("$i", t.Id), ("$a", t.Account), ("$n", t.Name), ("$h", t.SecretHash), ("$s", string.Join(' ', t.Scopes)),
            ("$c", Ms(t.Created)), ("$e", t.Expires is { } e ? Ms(e) : null));
    }

    public async Task<AccessToken?> GetTokenAsync(string id, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var rows = await Rows(c, null, $"SELECT {TokenColumns} FROM tokens WHERE id = $i", ReadToken, ct, ("$i", id));
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<IReadOnlyList<AccessToken>> ListTokensAsync(string account, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Rows(c, null, $"SELECT {TokenColumns} FROM tokens WHERE account = $a ORDER BY created", ReadToken, ct, ("$a", account));
    }

    public async Task<bool> RevokeTokenAsync(string id, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, "UPDATE tokens SET revoked = $t WHERE id = $i AND revoked IS NULL", ct, ("$i", id), ("$t", Ms(now))) == 1;
    }
}

public sealed class SqliteAuditStore(SqliteDatabase db) : IAuditStore
{
    public async Task AppendAsync(AuditEvent e, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await Exec(c, null, "INSERT INTO audit_events (time, actor, address, action, target, success, detail) VALUES ($t, $a, $ip, $x, $g, $s, $d)", ct,
            ("$t", e.Time.ToUnixTimeMilliseconds()), ("$a", e.Actor), ("$ip", e.Address), ("$x", e.Action), ("$g", e.Target), ("$s", e.Success ? 1 : 0), ("$d", e.Detail));
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery q, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Rows(c, null, """
            SELECT id, time, actor, address, action, target, success, detail FROM audit_events
            WHERE ($a IS NULL OR actor = $a) AND ($x IS NULL OR action = $x) AND ($g IS NULL OR target = $g)
              AND ($since IS NULL OR time >= $since) AND ($before IS NULL OR id < $before)
            ORDER BY id DESC LIMIT $n
            """, r => new AuditEvent(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                r.GetString(4), r.GetString(5), r.GetInt64(6) != 0, r.IsDBNull(7) ? null : r.GetString(7)), ct,
            ("$a", q.Actor), ("$x", q.Action), ("$g", q.Target), ("$since", q.Since?.ToUnixTimeMilliseconds()), ("$before", q.BeforeId), ("$n", Math.Clamp(q.Limit, 1, 1000)));
    }
}
