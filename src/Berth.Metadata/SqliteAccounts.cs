using System.Data.Common;
using Berth.Core.Access;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteAccounts(SqliteDatabase db) : IAccounts
{
    private RegistryEvent Change(string subject, string detail) => new(0, Time(db.Now()), EventKinds.AccountChange, null, subject, Detail: detail);

    private const string AccountColumns = "name, kind, password_hash, admin, default_visibility, created";

    private static Account ReadAccount(DbDataReader r) => new(r.GetString(0), ParseKind(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2),
        r.GetInt64(3) != 0, r.GetString(4) == "public" ? Visibility.Public : Visibility.Private, Time(r.GetInt64(5)));

    public Task<int> CountUsersAsync(CancellationToken ct) =>
        Task.FromResult(Convert.ToInt32(ReadScalar(db, "SELECT count(*) FROM accounts WHERE kind = 'user'", ct)));

    public async Task<Account?> GetAccountAsync(string name, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var rows = await Rows(c, null, $"SELECT {AccountColumns} FROM accounts WHERE name = $n", ReadAccount, ct, ("$n", name));
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<IReadOnlyList<Account>> ListAccountsAsync(AccountKind? kind, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, $"SELECT {AccountColumns} FROM accounts WHERE $k IS NULL OR kind = $k ORDER BY name", ReadAccount, ct,
            ("$k", kind is { } k ? Kind(k) : null));
    }

    public async Task<bool> CreateAccountAsync(Account a, CancellationToken ct)
    {
        return await Recorded(db, Change(a.Name, "create"),
            "INSERT INTO accounts (name, kind, password_hash, admin, default_visibility, created) VALUES ($n, $k, $h, $a, $v, $t) ON CONFLICT DO NOTHING", ct,
            ("$n", a.Name), ("$k", Kind(a.Kind)), ("$h", a.PasswordHash), ("$a", a.IsAdmin ? 1 : 0), ("$v", AccessText.Format(a.DefaultVisibility)), ("$t", Ms(a.Created))) == 1;
    }

    public async Task<bool> UpsertUserAsync(string name, string passwordHash, bool isAdmin, DateTimeOffset now, CancellationToken ct)
    {
        return await Recorded(db, Change(name, "set user"), """
            INSERT INTO accounts (name, kind, password_hash, admin, created) VALUES ($n, 'user', $h, $a, $t)
            ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, admin = excluded.admin WHERE kind = 'user'
            """, ct, ("$n", name), ("$h", passwordHash), ("$a", isAdmin ? 1 : 0), ("$t", Ms(now))) == 1;
    }

    public async Task<bool> SetAdminAsync(string name, bool isAdmin, CancellationToken ct)
    {
        return await Recorded(db, Change(name, isAdmin ? "admin" : "not admin"), "UPDATE accounts SET admin = $a WHERE name = $n AND kind = 'user'", ct,
            ("$n", name), ("$a", isAdmin ? 1 : 0)) == 1;
    }

    public async Task<bool> SetPasswordAsync(string name, string passwordHash, CancellationToken ct)
    {
        return await Recorded(db, Change(name, "password"), "UPDATE accounts SET password_hash = $h WHERE name = $n AND kind = 'user'", ct,
            ("$n", name), ("$h", passwordHash)) == 1;
    }

    public async Task<bool> DeleteAccountAsync(string name, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
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
                """, ct, ("$n", name), ("$t", Ms(now)));
            await Event(c, tx, Change(name, "delete") with { Time = now }, ct);
        }
        await tx.CommitAsync(ct);
        return deleted;
    }

    public async Task SetMemberAsync(string organization, string user, bool owner, CancellationToken ct)
    {
        await Recorded(db, Change(organization, $"set member {user}{(owner ? " owner" : "")}"),
            "INSERT INTO org_members (organization, member, owner) VALUES ($o, $u, $w) ON CONFLICT DO UPDATE SET owner = excluded.owner", ct,
            ("$o", organization), ("$u", user), ("$w", owner ? 1 : 0));
    }

    public async Task<bool> RemoveMemberAsync(string organization, string user, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var removed = await Exec(c, tx, "DELETE FROM org_members WHERE organization = $o AND member = $u", ct, ("$o", organization), ("$u", user)) == 1;
        await Exec(c, tx, "DELETE FROM team_members WHERE organization = $o AND member = $u", ct, ("$o", organization), ("$u", user));
        if (removed) await Event(c, tx, Change(organization, $"remove member {user}"), ct);
        await tx.CommitAsync(ct);
        return removed;
    }

    public async Task<IReadOnlyList<Member>> ListMembersAsync(string organization, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT member, owner FROM org_members WHERE organization = $o ORDER BY member",
            r => new Member(r.GetString(0), r.GetInt64(1) != 0), ct, ("$o", organization));
    }

    public async Task<bool> CreateTeamAsync(string organization, string team, DateTimeOffset now, CancellationToken ct)
    {
        return await Recorded(db, Change($"{organization}/{team}", "create team") with { Time = now },
            "INSERT INTO teams (organization, name, created) VALUES ($o, $t, $c) ON CONFLICT DO NOTHING", ct,
            ("$o", organization), ("$t", team), ("$c", Ms(now))) == 1;
    }

    public async Task<bool> DeleteTeamAsync(string organization, string team, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var deleted = await Exec(c, tx, "DELETE FROM teams WHERE organization = $o AND name = $t", ct, ("$o", organization), ("$t", team)) == 1;
        await Exec(c, tx, "DELETE FROM team_members WHERE organization = $o AND team = $t; DELETE FROM grants WHERE subject = 'team:' || $o || '/' || $t;", ct,
            ("$o", organization), ("$t", team));
        if (deleted) await Event(c, tx, Change($"{organization}/{team}", "delete team"), ct);
        await tx.CommitAsync(ct);
        return deleted;
    }

    public async Task<IReadOnlyList<Team>> ListTeamsAsync(string organization, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var members = await Rows(c, null, "SELECT team, member FROM team_members WHERE organization = $o ORDER BY member",
            r => (Team: r.GetString(0), Member: r.GetString(1)), ct, ("$o", organization));
        var teams = await Strings(c, null, "SELECT name FROM teams WHERE organization = $o ORDER BY name", ct, ("$o", organization));
        return teams.Select(t => new Team(organization, t, members.Where(m => m.Team == t).Select(m => m.Member).ToList())).ToList();
    }

    public async Task<bool> AddTeamMemberAsync(string organization, string team, string user, CancellationToken ct)
    {
        if (await Recorded(db, Change($"{organization}/{team}", $"add team member {user}"), """
            INSERT INTO team_members (organization, team, member)
            SELECT $o, $t, $u WHERE EXISTS (SELECT 1 FROM teams WHERE organization = $o AND name = $t)
            ON CONFLICT DO NOTHING
            """, ct, ("$o", organization), ("$t", team), ("$u", user)) == 1) return true;
        await using var c = await db.ConnectAsync(ct);
        return await Scalar(c, null, "SELECT 1 FROM team_members WHERE organization = $o AND team = $t AND member = $u", ct,
                ("$o", organization), ("$t", team), ("$u", user)) is not null;
    }

    public async Task<bool> RemoveTeamMemberAsync(string organization, string team, string user, CancellationToken ct)
    {
        return await Recorded(db, Change($"{organization}/{team}", $"remove team member {user}"),
            "DELETE FROM team_members WHERE organization = $o AND team = $t AND member = $u", ct,
            ("$o", organization), ("$t", team), ("$u", user)) == 1;
    }

    public async Task SetGrantAsync(Grant g, DateTimeOffset now, CancellationToken ct)
    {
        var e = new RegistryEvent(0, now, EventKinds.GrantChange, g.IsNamespace ? null : g.Target, g.Subject,
            Detail: $"{(g.IsNamespace ? "namespace" : "repository")} {g.Target} {g.Role}");
        if (g.Role == Role.None)
        {
            await Recorded(db, e, "DELETE FROM grants WHERE target = $t AND namespace = $n AND subject = $s", ct,
                ("$t", g.Target), ("$n", g.IsNamespace ? 1 : 0), ("$s", g.Subject));
            return;
        }
        await Recorded(db, e, """
            INSERT INTO grants (target, namespace, subject, role, created) VALUES ($t, $n, $s, $r, $c)
            ON CONFLICT DO UPDATE SET role = excluded.role
            """, ct, ("$t", g.Target), ("$n", g.IsNamespace ? 1 : 0), ("$s", g.Subject), ("$r", (int)g.Role), ("$c", Ms(now)));
    }

    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(string target, bool isNamespace, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT subject, role FROM grants WHERE target = $t AND namespace = $n ORDER BY subject",
            r => new Grant(target, isNamespace, r.GetString(0), (Role)r.GetInt64(1)), ct, ("$t", target), ("$n", isNamespace ? 1 : 0));
    }

    public Task<Role> GetRoleAsync(string user, string repository, CancellationToken ct)
    {
        var role = ReadScalar(db, """
            SELECT max(r) FROM (
                SELECT 3 AS r WHERE $ns = $u
                UNION ALL SELECT 3 FROM org_members WHERE organization = $ns AND member = $u AND owner = 1
                UNION ALL SELECT role FROM grants
                    WHERE ((namespace = 1 AND target = $ns) OR (namespace = 0 AND target = $repo))
                      AND (subject = 'user:' || $u OR subject IN (SELECT 'team:' || organization || '/' || team FROM team_members WHERE member = $u))
            )
            """, ct, ("$u", user), ("$ns", AccessText.Namespace(repository) ?? ""), ("$repo", repository));
        return Task.FromResult(role is null ? Role.None : (Role)Convert.ToInt32(role));
    }
}
