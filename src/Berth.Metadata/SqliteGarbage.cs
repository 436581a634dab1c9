using Berth.Core;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>
/// Garbage collection's queries and changes on SQLite, and the writers' claims. SQLite has one writer at a time
/// (BEGIN IMMEDIATE), so a check and the change it allows, in one transaction, cannot interleave with a writer's.
/// </summary>
public sealed class SqliteGarbage(SqliteDatabase db) : IGarbageIndex, IBlobClaims
{
    /// <summary>Nothing holds the digest named by the SQL expression <paramref name="d"/> (a parameter or a column).</summary>
    internal static string Free(string d) => $"""
        NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = {d})
        AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.target = {d})
        AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = {d})
        AND NOT EXISTS (SELECT 1 FROM blob_claims c WHERE c.digest = {d})
        AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.committing = {d})
        """;

    public async Task<bool> TryClaimAsync(Digest digest, string claim, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null,
            "INSERT INTO blob_claims (digest, claim, created) SELECT $d, $c, $t WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE digest = $d AND deleting IS NOT NULL) ON CONFLICT DO NOTHING",
            ct, ("$d", digest.ToString()), ("$c", claim), ("$t", Ms(now))) == 1;
    }

    public async Task ReleaseClaimAsync(Digest digest, string claim, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "DELETE FROM blob_claims WHERE digest = $d AND claim = $c", ct, ("$d", digest.ToString()), ("$c", claim));
    }

    public async Task<IReadOnlyList<RepositoryDigest>> ListUntaggedManifestsAsync(DateTimeOffset before, RepositoryDigest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT m.repository, m.digest FROM manifests m
            WHERE m.created < $t AND (m.repository, m.digest) > ($r, $d)
              AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest)
            ORDER BY m.repository, m.digest LIMIT $n
            """, r => new RepositoryDigest(r.GetString(0), Digest.Parse(r.GetString(1))), ct,
            ("$t", Ms(before)), ("$r", after?.Repository ?? ""), ("$d", after?.Digest.ToString() ?? ""), ("$n", limit));
    }

    public async Task<bool> DeleteUntaggedManifestAsync(RepositoryDigest manifest, DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var (r, d) = (manifest.Repository, manifest.Digest.ToString());
        var deleted = await Exec(c, tx, """
            DELETE FROM manifests WHERE repository = $r AND digest = $d AND created < $t
              AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = $r AND t.digest = $d)
              AND NOT EXISTS (SELECT 1 FROM manifest_references x WHERE x.repository = $r AND x.target = $d)
              AND NOT EXISTS (SELECT 1 FROM blob_claims c WHERE c.digest = $d)
              AND (subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository = $r AND s.digest = manifests.subject))
            """, ct, ("$r", r), ("$d", d), ("$t", Ms(before)));
        if (deleted == 0) return false;
        await Exec(c, tx, "DELETE FROM manifest_references WHERE repository = $r AND manifest = $d", ct, ("$r", r), ("$d", d));
        await Event(c, tx, new RegistryEvent(0, Time(db.Now()), EventKinds.ManifestDelete, r, Digest: d, Detail: "gc"), ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<IReadOnlyList<RepositoryDigest>> ListStaleLinksAsync(DateTimeOffset before, RepositoryDigest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT l.repository, l.digest FROM repository_blobs l
            WHERE l.created < $t AND (l.repository, l.digest) > ($r, $d)
              AND NOT EXISTS (SELECT 1 FROM manifest_references x WHERE x.target = l.digest AND x.repository = l.repository)
            ORDER BY l.repository, l.digest LIMIT $n
            """, r => new RepositoryDigest(r.GetString(0), Digest.Parse(r.GetString(1))), ct,
            ("$t", Ms(before)), ("$r", after?.Repository ?? ""), ("$d", after?.Digest.ToString() ?? ""), ("$n", limit));
    }

    public async Task<int> UnlinkStaleAsync(IReadOnlyList<RepositoryDigest> links, DateTimeOffset before, CancellationToken ct)
    {
        if (links.Count == 0) return 0;
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var now = Time(db.Now());
        var removed = 0;
        foreach (var link in links)
        {
            var (r, d) = (link.Repository, link.Digest.ToString());
            if (await Exec(c, tx, """
                DELETE FROM repository_blobs WHERE repository = $r AND digest = $d AND created < $t
                  AND NOT EXISTS (SELECT 1 FROM manifest_references x WHERE x.target = $d AND x.repository = $r)
                """, ct, ("$r", r), ("$d", d), ("$t", Ms(before))) == 0) continue;
            await Event(c, tx, new RegistryEvent(0, now, EventKinds.BlobUnlink, r, Digest: d, Detail: "gc"), ct);
            removed++;
        }
        await tx.CommitAsync(ct);
        return removed;
    }

    public async Task<IReadOnlyList<DoomedBlob>> ListUnreferencedBlobsAsync(DateTimeOffset before, Digest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT b.digest, b.size FROM blobs b
            WHERE b.digest > $a AND b.created < $t AND b.deleting IS NULL
              AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.target = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)
            ORDER BY b.digest LIMIT $n
            """, r => new DoomedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct,
            ("$a", after?.ToString() ?? ""), ("$t", Ms(before)), ("$n", limit));
    }

    public async Task<IReadOnlyList<Digest>> ListUnrecordedAsync(IReadOnlyList<Digest> digests, CancellationToken ct)
    {
        if (digests.Count == 0) return [];
        await using var c = await db.ConnectAsync(ct);
        var names = digests.Select((_, i) => "$d" + i).ToArray();
        var recorded = (await Strings(c, null, $"SELECT digest FROM blobs WHERE digest IN ({string.Join(", ", names)})", ct,
            [.. digests.Select((d, i) => (names[i], (object?)d.ToString()))])).ToHashSet(StringComparer.Ordinal);
        return digests.Where(d => !recorded.Contains(d.ToString())).ToList();
    }

    public async Task<IReadOnlyList<DoomedBlob>> MarkDeletingAsync(IReadOnlyList<DoomedBlob> candidates, DateTimeOffset before, DateTimeOffset now, CancellationToken ct)
    {
        if (candidates.Count == 0) return [];
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var marked = new List<DoomedBlob>();
        foreach (var candidate in candidates)
        {
            var d = candidate.Digest.ToString();
            var size = await Scalar(c, tx, $"UPDATE blobs SET deleting = $now WHERE digest = $d AND deleting IS NULL AND created < $t AND {Free("$d")} RETURNING size", ct,
                ("$d", d), ("$now", Ms(now)), ("$t", Ms(before)));
            if (size is not null)
            {
                marked.Add(new DoomedBlob(candidate.Digest, Convert.ToInt64(size)));
                continue;
            }
            // A file without a row (an orphan): a marked row stands for it while its file goes, so writers wait for it too.
            if (await Exec(c, tx, $"INSERT INTO blobs (digest, size, created, deleting) SELECT $d, $s, $now, $now WHERE {Free("$d")} ON CONFLICT DO NOTHING", ct,
                    ("$d", d), ("$s", candidate.Size), ("$now", Ms(now))) == 1)
            {
                marked.Add(candidate);
            }
        }
        await tx.CommitAsync(ct);
        return marked;
    }

    public async Task<IReadOnlyList<DoomedBlob>> ListDeletingAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT digest, size FROM blobs WHERE deleting IS NOT NULL ORDER BY digest LIMIT $n",
            r => new DoomedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct, ("$n", limit));
    }

    public async Task ForgetDeletedAsync(IReadOnlyList<Digest> digests, CancellationToken ct)
    {
        if (digests.Count == 0) return;
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        foreach (var d in digests)
        {
            await Exec(c, tx, "DELETE FROM blobs WHERE digest = $d AND deleting IS NOT NULL", ct, ("$d", d.ToString()));
        }
        await tx.CommitAsync(ct);
    }

    public async Task<int> DeleteClaimsBeforeAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, "DELETE FROM blob_claims WHERE created < $t", ct, ("$t", Ms(before)));
    }

    public async Task SaveReportAsync(string json, DateTimeOffset finished, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO gc_reports (name, finished, report) VALUES ('last', $t, $j) ON CONFLICT (name) DO UPDATE SET finished = excluded.finished, report = excluded.report",
            ct, ("$t", Ms(finished)), ("$j", json));
    }

    public async Task<string?> LastReportAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Scalar(c, null, "SELECT report FROM gc_reports WHERE name = 'last'", ct) as string;
    }
}
