using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Policies;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>Policy documents and namespace usage on SQLite (<see cref="IPolicies"/>).</summary>
public sealed class SqlitePolicies(SqliteDatabase db) : IPolicies
{
    public async Task<string?> GetAsync(string target, string kind, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Scalar(c, null, "SELECT body FROM policies WHERE target = $t AND kind = $k", ct, ("$t", target), ("$k", kind)) as string;
    }

    public async Task<bool> SetAsync(string target, string kind, string? body, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return body is null
            ? await Exec(c, null, "DELETE FROM policies WHERE target = $t AND kind = $k", ct, ("$t", target), ("$k", kind)) > 0
            : await Exec(c, null, "INSERT INTO policies (target, kind, body, updated) VALUES ($t, $k, $b, $u) ON CONFLICT (target, kind) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                ct, ("$t", target), ("$k", kind), ("$b", body), ("$u", Ms(now))) > 0;
    }

    public async Task<IReadOnlyList<PolicyDocument>> ListAsync(string kind, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT target, kind, body, updated FROM policies WHERE kind = $k ORDER BY target",
            r => new PolicyDocument(r.GetString(0), r.GetString(1), r.GetString(2), Time(r.GetInt64(3))), ct, ("$k", kind));
    }

    public async Task<IReadOnlyList<string>> RepositoriesAsync(string prefix, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Strings(c, null, "SELECT name FROM repositories WHERE name >= $lo AND name < $hi ORDER BY name", ct, ("$lo", prefix), ("$hi", PolicySql.After(prefix)));
    }

    public async Task<NamespaceUsage> UsageAsync(string ns, Digest? digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var (lo, hi) = PolicySql.Range(ns);
        var rows = await Rows(c, null, PolicySql.Usage.Replace('@', '$'), PolicySql.UsageRow, ct, ("$lo", lo), ("$hi", hi), ("$d", digest?.ToString()));
        return rows[0];
    }

    public async Task<bool> DeleteTagIfAsync(string repository, string tag, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var d = digest.ToString();
        if (await Exec(c, tx, "DELETE FROM tags WHERE repository = $r AND name = $n AND digest = $d", ct, ("$r", repository), ("$n", tag), ("$d", d)) == 0) return false;
        await RefuseImmutableAsync(c, tx, repository, tag, deleting: true, ct);
        await Event(c, tx, new RegistryEvent(0, Time(db.Now()), EventKinds.TagDelete, repository, Digest: d, Tag: tag, Detail: "retention"), ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task RecordEventAsync(RegistryEvent e, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        await Event(c, tx, e, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Inside a transaction that moves or deletes <paramref name="tag"/>: refuses (DENIED) when an immutable-tags rule of the
    /// repository or its namespace covers it. The rows are read in the caller's write transaction, so the check and the
    /// change are one step.
    /// </summary>
    internal static async Task RefuseImmutableAsync(SqliteConnection c, SqliteTransaction tx, string repository, string tag, bool deleting, CancellationToken ct)
    {
        var rules = await Rules(c, tx, repository, ct);
        if (rules.Count > 0) TagImmutability.Check(repository, tag, rules, deleting);
    }

    /// <summary>The same check for every tag pointing at <paramref name="digest"/> (a manifest delete takes its tags along).</summary>
    internal static async Task RefuseImmutableTagsOfAsync(SqliteConnection c, SqliteTransaction tx, string repository, string digest, CancellationToken ct)
    {
        var rules = await Rules(c, tx, repository, ct);
        if (rules.Count == 0) return;
        foreach (var tag in await Strings(c, tx, "SELECT name FROM tags WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", digest)))
        {
            TagImmutability.Check(repository, tag, rules, deleting: true);
        }
    }

    private static Task<List<(string, string)>> Rules(SqliteConnection c, SqliteTransaction tx, string repository, CancellationToken ct) =>
        Rows(c, tx, "SELECT target, body FROM policies WHERE kind = $k AND target IN ($r, $ns)", r => (r.GetString(0), r.GetString(1)), ct,
            ("$k", PolicyKinds.ImmutableTags), ("$r", repository), ("$ns", PolicyTarget.Namespace(PolicyTarget.NamespaceOf(repository))));
}

/// <summary>Pull statistics on SQLite (<see cref="ITagStatistics"/>).</summary>
public sealed class SqliteTagStatistics(SqliteDatabase db) : ITagStatistics
{
    public async Task RecordPullsAsync(IReadOnlyCollection<PullCount> pulls, CancellationToken ct)
    {
        if (pulls.Count == 0) return;
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        foreach (var p in pulls)
        {
            var d = p.Digest.ToString();
            var t = Ms(p.Last);
            await Exec(c, tx, "UPDATE manifests SET pull_count = pull_count + $n, last_pulled = max(coalesce(last_pulled, 0), $t) WHERE repository = $r AND digest = $d", ct,
                ("$n", p.Count), ("$t", t), ("$r", p.Repository), ("$d", d));
            if (p.Tag is not null)
            {
                await Exec(c, tx, "UPDATE tags SET pull_count = pull_count + $n, last_pulled = max(coalesce(last_pulled, 0), $t) WHERE repository = $r AND name = $g", ct,
                    ("$n", p.Count), ("$t", t), ("$r", p.Repository), ("$g", p.Tag));
            }
            // The search ranking's pull count (repository_ranks.pulls), in the same batch.
            await Exec(c, tx, "UPDATE repository_ranks SET pulls = pulls + $n WHERE name = $r", ct, ("$n", p.Count), ("$r", p.Repository));
            await Event(c, tx, PolicySql.PullEvent(p), ct);
        }
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<TagDetail>?> ListTagDetailsAsync(string repository, string? last, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        if (await Scalar(c, null, "SELECT 1 FROM repositories WHERE name = $r", ct, ("$r", repository)) is null) return null;
        return await Rows(c, null, "SELECT name, digest, updated, last_pulled, pull_count FROM tags WHERE repository = $r AND name > $last ORDER BY name LIMIT $n",
            PolicySql.TagRow, ct, ("$r", repository), ("$last", last ?? ""), ("$n", limit));
    }
}

/// <summary>Scrub's reads and the quarantine on SQLite (<see cref="IIntegrity"/>).</summary>
public sealed class SqliteIntegrity(SqliteDatabase db) : IIntegrity
{
    public async Task<IReadOnlyList<RecordedBlob>> ListBlobsAsync(Digest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT digest, size FROM blobs WHERE digest > $a ORDER BY digest LIMIT $n", r => new RecordedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct,
            ("$a", after?.ToString() ?? ""), ("$n", limit));
    }

    public async Task<IReadOnlyList<DanglingReference>> ListDanglingReferencesAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, PolicySql.Dangling.Replace('@', '$'), r => new DanglingReference(r.GetString(0), Digest.Parse(r.GetString(1)), r.GetString(2)), ct, ("$n", limit));
    }

    public async Task QuarantineAsync(Digest digest, string reason, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO quarantine (digest, reason, time) VALUES ($d, $r, $t) ON CONFLICT DO NOTHING", ct, ("$d", digest.ToString()), ("$r", reason), ("$t", Ms(now)));
    }

    public async Task<bool> ReleaseAsync(Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, "DELETE FROM quarantine WHERE digest = $d", ct, ("$d", digest.ToString())) > 0;
    }

    public async Task<IReadOnlyList<QuarantineEntry>> ListQuarantinedAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT digest, reason, time FROM quarantine ORDER BY digest", r => new QuarantineEntry(Digest.Parse(r.GetString(0)), r.GetString(1), Time(r.GetInt64(2))), ct);
    }
}

/// <summary>SQL both dialects share for policies (written with @ parameters; SQLite's callers swap them for $).</summary>
internal static class PolicySql
{
    /// <summary>The smallest string after every string starting with <paramref name="prefix"/> (its last character + 1).</summary>
    public static string After(string prefix) => prefix.Length == 0 ? "\uffff" : prefix[..^1] + (char)(prefix[^1] + 1);

    /// <summary>The repository names of a namespace: from "ns/" up to "ns0" ('0' follows '/'), a range of the primary keys.</summary>
    public static (string Lo, string Hi) Range(string ns) => (ns + "/", ns + "0");

    /// <summary>
    /// Distinct digests linked (layers, configs) or held as manifests in the namespace's repositories, summed once each
    /// through the blobs table; both inner scans are ranges of a primary key that starts with the repository.
    /// </summary>
    public const string Usage = """
        WITH held AS (
            SELECT digest FROM repository_blobs WHERE repository >= @lo AND repository < @hi
            UNION
            SELECT digest FROM manifests WHERE repository >= @lo AND repository < @hi)
        SELECT coalesce(sum(b.size), 0), count(CASE WHEN b.digest = @d THEN 1 END), (SELECT size FROM blobs WHERE digest = @d) FROM held h JOIN blobs b ON b.digest = h.digest
        """;

    public const string Dangling = """
        SELECT r.repository, r.manifest, r.target FROM manifest_references r
        WHERE NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.repository = r.repository AND l.digest = r.target)
          AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository = r.repository AND m.digest = r.target)
        ORDER BY r.repository, r.manifest, r.target LIMIT @n
        """;

    public static NamespaceUsage UsageRow(System.Data.Common.DbDataReader r) =>
        new(Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), r.GetInt64(1) > 0, r.IsDBNull(2) ? null : r.GetInt64(2));

    public static RegistryEvent PullEvent(PullCount p) =>
        new(0, p.Last, EventKinds.Pull, p.Repository, Digest: p.Digest.ToString(), Tag: p.Tag, Detail: p.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static TagDetail TagRow(System.Data.Common.DbDataReader r) =>
        new(r.GetString(0), Digest.Parse(r.GetString(1)), Time(r.GetInt64(2)), r.IsDBNull(3) ? null : Time(r.GetInt64(3)), r.GetInt64(4));
}
