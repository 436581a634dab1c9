using Berth.Core;
using Berth.Core.Metadata;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>
/// Garbage collection's queries and changes on PostgreSQL, and the writers' claims. READ COMMITTED, so every check that
/// allows a change runs as a new statement after the locks that serialise it with writers are held:
/// <list type="bullet">
/// <item>a claim and a mark of one digest both take <c>pg_advisory_xact_lock</c> on the digest's hash, then check: whichever
/// commits first is seen by the other's check;</item>
/// <item>an unlink locks the link rows first (<c>FOR UPDATE SKIP LOCKED</c>: a link a manifest push holds <c>FOR SHARE</c>
/// is in use and skipped, so collection never waits for a push and never deadlocks with one), then deletes those still
/// unreferenced;</item>
/// <item>an untagged manifest is deleted under its digest's advisory lock (a push claims the digest first) and its row lock
/// (an index push holds its children <c>FOR SHARE</c>).</item>
/// </list>
/// </summary>
public sealed class PostgresGarbage(PostgresDatabase db) : IGarbageIndex, IBlobClaims
{
    private const string LockDigest = "SELECT pg_advisory_xact_lock(hashtextextended('blob:' || @d, 0))";

    private static string Free(string d) => SqliteGarbage.Free(d);

    public async Task<bool> TryClaimAsync(Digest digest, string claim, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await Exec(c, tx, LockDigest, ct, ("@d", digest.ToString()));
        var claimed = await Exec(c, tx,
            "INSERT INTO blob_claims (digest, claim, created) SELECT @d, @c, @t WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE digest = @d AND deleting IS NOT NULL) ON CONFLICT DO NOTHING",
            ct, ("@d", digest.ToString()), ("@c", claim), ("@t", Ms(now))) == 1;
        await tx.CommitAsync(ct);
        return claimed;
    }

    public async Task ReleaseClaimAsync(Digest digest, string claim, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "DELETE FROM blob_claims WHERE digest = @d AND claim = @c", ct, ("@d", digest.ToString()), ("@c", claim));
    }

    public async Task<IReadOnlyList<RepositoryDigest>> ListUntaggedManifestsAsync(DateTimeOffset before, RepositoryDigest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT m.repository, m.digest FROM manifests m
            WHERE m.created < @t AND (m.repository, m.digest) > (@r, @d)
              AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest)
            ORDER BY m.repository, m.digest LIMIT @n
            """, r => new RepositoryDigest(r.GetString(0), Digest.Parse(r.GetString(1))), ct,
            ("@t", Ms(before)), ("@r", after?.Repository ?? ""), ("@d", after?.Digest.ToString() ?? ""), ("@n", limit));
    }

    public async Task<bool> DeleteUntaggedManifestAsync(RepositoryDigest manifest, DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var (r, d) = (manifest.Repository, manifest.Digest.ToString());
        await Exec(c, tx, LockDigest, ct, ("@d", d));
        if (await Scalar(c, tx, "SELECT 1 FROM manifests WHERE repository = @r AND digest = @d FOR UPDATE SKIP LOCKED", ct, ("@r", r), ("@d", d)) is null) return false;
        var deleted = await Exec(c, tx, """
            DELETE FROM manifests m WHERE m.repository = @r AND m.digest = @d AND m.created < @t
              AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = @r AND t.digest = @d)
              AND NOT EXISTS (SELECT 1 FROM manifest_references x WHERE x.target = @d AND x.repository = @r)
              AND NOT EXISTS (SELECT 1 FROM blob_claims c WHERE c.digest = @d)
              AND (m.subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository = @r AND s.digest = m.subject))
            """, ct, ("@r", r), ("@d", d), ("@t", Ms(before)));
        if (deleted == 0) return false;
        await Exec(c, tx, "DELETE FROM manifest_references WHERE repository = @r AND manifest = @d", ct, ("@r", r), ("@d", d));
        await Pg.Events(c, tx, ct, new RegistryEvent(0, Time(db.Now()), EventKinds.ManifestDelete, r, Digest: d, Detail: "gc"));
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<IReadOnlyList<RepositoryDigest>> ListStaleLinksAsync(DateTimeOffset before, RepositoryDigest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT l.repository, l.digest FROM repository_blobs l
            WHERE l.created < @t AND (l.repository, l.digest) > (@r, @d)
              AND NOT EXISTS (SELECT 1 FROM manifest_references x WHERE x.target = l.digest AND x.repository = l.repository)
            ORDER BY l.repository, l.digest LIMIT @n
            """, r => new RepositoryDigest(r.GetString(0), Digest.Parse(r.GetString(1))), ct,
            ("@t", Ms(before)), ("@r", after?.Repository ?? ""), ("@d", after?.Digest.ToString() ?? ""), ("@n", limit));
    }

    public async Task<int> UnlinkStaleAsync(IReadOnlyList<RepositoryDigest> links, DateTimeOffset before, CancellationToken ct)
    {
        if (links.Count == 0) return 0;
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var repositories = links.Select(l => l.Repository).ToArray();
        var digests = links.Select(l => l.Digest.ToString()).ToArray();
        var locked = await Rows(c, tx, """
            SELECT l.repository, l.digest FROM repository_blobs l JOIN unnest(@r::text[], @d::text[]) AS x(r, d) ON l.repository = x.r AND l.digest = x.d
            WHERE l.created < @t ORDER BY l.repository, l.digest FOR UPDATE OF l SKIP LOCKED
            """, r => (r.GetString(0), r.GetString(1)), ct, ("@r", repositories), ("@d", digests), ("@t", Ms(before)));
        if (locked.Count == 0) return 0;
        // A new statement, so it sees the references of every push that held one of these links before we locked it.
        var removed = await Rows(c, tx, """
            DELETE FROM repository_blobs l USING unnest(@r::text[], @d::text[]) AS x(r, d)
            WHERE l.repository = x.r AND l.digest = x.d
              AND NOT EXISTS (SELECT 1 FROM manifest_references m WHERE m.target = l.digest AND m.repository = l.repository)
            RETURNING l.repository, l.digest
            """, r => (r.GetString(0), r.GetString(1)), ct, ("@r", locked.Select(l => l.Item1).ToArray()), ("@d", locked.Select(l => l.Item2).ToArray()));
        if (removed.Count == 0) return 0;
        var now = Time(db.Now());
        await Pg.Events(c, tx, ct, [.. removed.Select(l => new RegistryEvent(0, now, EventKinds.BlobUnlink, l.Item1, Digest: l.Item2, Detail: "gc"))]);
        await tx.CommitAsync(ct);
        return removed.Count;
    }

    public async Task<IReadOnlyList<DoomedBlob>> ListUnreferencedBlobsAsync(DateTimeOffset before, Digest? after, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT b.digest, b.size FROM blobs b
            WHERE b.digest > @a AND b.created < @t AND b.deleting IS NULL
              AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.target = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)
            ORDER BY b.digest LIMIT @n
            """, r => new DoomedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct,
            ("@a", after?.ToString() ?? ""), ("@t", Ms(before)), ("@n", limit));
    }

    public async Task<IReadOnlyList<Digest>> ListUnrecordedAsync(IReadOnlyList<Digest> digests, CancellationToken ct)
    {
        if (digests.Count == 0) return [];
        await using var c = await db.ConnectAsync(ct);
        var recorded = (await Strings(c, null, "SELECT digest FROM blobs WHERE digest = ANY(@d)", ct, ("@d", digests.Select(d => d.ToString()).ToArray())))
            .ToHashSet(StringComparer.Ordinal);
        return digests.Where(d => !recorded.Contains(d.ToString())).ToList();
    }

    public async Task<IReadOnlyList<DoomedBlob>> MarkDeletingAsync(IReadOnlyList<DoomedBlob> candidates, DateTimeOffset before, DateTimeOffset now, CancellationToken ct)
    {
        if (candidates.Count == 0) return [];
        var sorted = candidates.OrderBy(b => b.Digest.ToString(), StringComparer.Ordinal).ToList();
        var digests = sorted.Select(b => b.Digest.ToString()).ToArray();
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        // Serialised with every claim of these digests: a claim committed before holds them (the checks below see it), a
        // claim after finds the mark and waits.
        await Exec(c, tx, "SELECT count(pg_advisory_xact_lock(hashtextextended('blob:' || x, 0))) FROM (SELECT x FROM unnest(@d::text[]) AS x ORDER BY x) s",
            ct, ("@d", digests));
        var marked = await Rows(c, tx, $"""
            UPDATE blobs b SET deleting = @now WHERE b.digest = ANY(@d) AND b.deleting IS NULL AND b.created < @t AND {Free("b.digest")}
            RETURNING b.digest, b.size
            """, r => new DoomedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct, ("@d", digests), ("@now", Ms(now)), ("@t", Ms(before)));
        // Files without a row (orphans): a marked row stands for each while its file goes, so writers wait for it too.
        var orphans = await Rows(c, tx, $"""
            INSERT INTO blobs (digest, size, created, deleting)
            SELECT x.d, x.s, @now, @now FROM unnest(@d::text[], @s::bigint[]) AS x(d, s)
            WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = x.d) AND {Free("x.d")}
            ON CONFLICT DO NOTHING RETURNING digest, size
            """, r => new DoomedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct,
            ("@d", digests), ("@s", sorted.Select(b => b.Size).ToArray()), ("@now", Ms(now)));
        await tx.CommitAsync(ct);
        return [.. marked, .. orphans];
    }

    public async Task<IReadOnlyList<DoomedBlob>> ListDeletingAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT digest, size FROM blobs WHERE deleting IS NOT NULL ORDER BY digest LIMIT @n",
            r => new DoomedBlob(Digest.Parse(r.GetString(0)), r.GetInt64(1)), ct, ("@n", limit));
    }

    public async Task ForgetDeletedAsync(IReadOnlyList<Digest> digests, CancellationToken ct)
    {
        if (digests.Count == 0) return;
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "DELETE FROM blobs WHERE digest = ANY(@d) AND deleting IS NOT NULL", ct, ("@d", digests.Select(d => d.ToString()).ToArray()));
    }

    public async Task<int> DeleteClaimsBeforeAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Exec(c, null, "DELETE FROM blob_claims WHERE created < @t", ct, ("@t", Ms(before)));
    }

    public async Task SaveReportAsync(string json, DateTimeOffset finished, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await Exec(c, null, "INSERT INTO gc_reports (name, finished, report) VALUES ('last', @t, @j) ON CONFLICT (name) DO UPDATE SET finished = excluded.finished, report = excluded.report",
            ct, ("@t", Ms(finished)), ("@j", json));
    }

    public async Task<string?> LastReportAsync(CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Scalar(c, null, "SELECT report FROM gc_reports WHERE name = 'last'", ct) as string;
    }
}
