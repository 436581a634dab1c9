using System.Text.Json;
using Berth.Core;
using Berth.Core.Metadata;
using Npgsql;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class PostgresManifestIndex(PostgresDatabase db) : IManifestIndex
{
    public async Task PutManifestAsync(string repository, Manifest manifest, string? tag, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var t = now.ToUnixTimeMilliseconds();
        var digest = manifest.Digest.ToString();
        await Pg.EnsureRepository(c, tx, repository, t, ct);
        // The rows checked are locked (FOR SHARE) to the commit: an unlink or a manifest delete that would take one
        // away waits for this push, so a manifest never commits referencing what its repository no longer holds.
        foreach (var blob in manifest.RequiredBlobs)
        {
            if (await Scalar(c, tx, "SELECT 1 FROM repository_blobs WHERE repository = @r AND digest = @d FOR SHARE", ct, ("@r", repository), ("@d", blob.Digest.ToString())) is null)
            {
                throw new RegistryException(ErrorCode.ManifestBlobUnknown, $"blob {blob.Digest} is not in repository {repository}", ErrorDetail.Of(("digest", blob.Digest.ToString())));
            }
        }
        foreach (var child in manifest.Children)
        {
            if (await Scalar(c, tx, "SELECT 1 FROM manifests WHERE repository = @r AND digest = @d FOR SHARE", ct, ("@r", repository), ("@d", child.Digest.ToString())) is null)
            {
                throw new RegistryException(ErrorCode.ManifestBlobUnknown, $"manifest {child.Digest} is not in repository {repository}", ErrorDetail.Of(("digest", child.Digest.ToString())));
            }
        }
        await Exec(c, tx, "INSERT INTO blobs (digest, size, created) VALUES (@d, @s, @t) ON CONFLICT DO NOTHING", ct, ("@d", digest), ("@s", (long)manifest.Content.Length), ("@t", t));
        await Exec(c, tx,
            """
            INSERT INTO manifests (repository, digest, media_type, size, artifact_type, subject, annotations, created)
            VALUES (@r, @d, @m, @s, @a, @subj, @ann, @t)
            ON CONFLICT (repository, digest) DO NOTHING
            """, ct,
            ("@r", repository), ("@d", digest), ("@m", manifest.MediaType), ("@s", (long)manifest.Content.Length),
            ("@a", manifest.EffectiveArtifactType), ("@subj", manifest.Subject?.Digest.ToString()),
            ("@ann", manifest.Annotations is null ? null : JsonSerializer.Serialize(manifest.Annotations, MetadataJson.Default.IReadOnlyDictionaryStringString)), ("@t", t));
        var targets = manifest.RequiredBlobs.Concat(manifest.Children).Select(d => d.Digest.ToString()).Distinct().ToArray();
        if (targets.Length > 0)
        {
            await Exec(c, tx, "INSERT INTO manifest_references (repository, manifest, target) SELECT @r, @m, unnest(@t::text[]) ON CONFLICT DO NOTHING", ct,
                ("@r", repository), ("@m", digest), ("@t", targets));
        }
        var events = new List<RegistryEvent>(2);
        if (tag is not null)
        {
            var previous = await MoveTagAsync(c, tx, repository, tag, digest, t, ct);
            if (previous is not null && previous != digest) await PostgresPolicies.RefuseImmutableAsync(c, tx, repository, tag, deleting: false, ct);
            if (previous is not null && previous != digest)
            {
                events.Add(new RegistryEvent(0, now, EventKinds.TagMove, repository, Digest: digest, Tag: tag, Detail: previous));
            }
        }
        events.Add(new RegistryEvent(0, now, EventKinds.ManifestPut, repository, Digest: digest, Tag: tag));
        await Pg.Events(c, tx, ct, [.. events]);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Points the tag at <paramref name="digest"/> and returns where it pointed before (null when it is new). The old row
    /// is locked before it is read, so two pushes of one tag each see the other's target, never the same old one.
    /// </summary>
    private static async Task<string?> MoveTagAsync(NpgsqlConnection c, NpgsqlTransaction tx, string repository, string tag, string digest, long t, CancellationToken ct)
    {
        while (true)
        {
            var previous = await Scalar(c, tx, "SELECT digest FROM tags WHERE repository = @r AND name = @n FOR UPDATE", ct, ("@r", repository), ("@n", tag)) as string;
            if (previous is not null)
            {
                await Exec(c, tx, "UPDATE tags SET digest = @d, updated = @t WHERE repository = @r AND name = @n", ct,
                    ("@r", repository), ("@n", tag), ("@d", digest), ("@t", t));
                return previous;
            }
            // New here; if another push created it meanwhile (and committed), read and lock its row on the next turn.
            if (await Exec(c, tx, "INSERT INTO tags (repository, name, digest, updated) VALUES (@r, @n, @d, @t) ON CONFLICT DO NOTHING", ct,
                    ("@r", repository), ("@n", tag), ("@d", digest), ("@t", t)) == 1)
            {
                return null;
            }
        }
    }

    public async Task<ManifestInfo?> GetManifestAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await ManifestRow(c, "SELECT digest, media_type, size FROM manifests WHERE repository = @r AND digest = @d", ct, ("@r", repository), ("@d", digest.ToString()));
    }

    public async Task<ManifestInfo?> ResolveTagAsync(string repository, string tag, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await ManifestRow(c,
            "SELECT m.digest, m.media_type, m.size FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest WHERE t.repository = @r AND t.name = @n",
            ct, ("@r", repository), ("@n", tag));
    }

    public async Task<bool> DeleteManifestAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var d = digest.ToString();
        var deleted = await Exec(c, tx, "DELETE FROM manifests WHERE repository = @r AND digest = @d", ct, ("@r", repository), ("@d", d));
        if (deleted == 0) return false;
        await PostgresPolicies.RefuseImmutableTagsOfAsync(c, tx, repository, d, ct);
        await Exec(c, tx, """
            DELETE FROM tags WHERE repository = @r AND digest = @d;
            DELETE FROM manifest_references WHERE repository = @r AND manifest = @d
            """, ct, ("@r", repository), ("@d", d));
        await Pg.Events(c, tx, ct, new RegistryEvent(0, Time(db.Now()), EventKinds.ManifestDelete, repository, Digest: d));
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var digest = await Scalar(c, tx, "DELETE FROM tags WHERE repository = @r AND name = @n RETURNING digest", ct, ("@r", repository), ("@n", tag)) as string;
        if (digest is null) return false;
        await PostgresPolicies.RefuseImmutableAsync(c, tx, repository, tag, deleting: true, ct);
        await Pg.Events(c, tx, ct, new RegistryEvent(0, Time(db.Now()), EventKinds.TagDelete, repository, Digest: digest, Tag: tag));
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<IReadOnlyList<string>?> ListTagsAsync(string repository, string? last, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        if (await Scalar(c, null, "SELECT 1 FROM repositories WHERE name = @r", ct, ("@r", repository)) is null) return null;
        return await Strings(c, null, "SELECT name FROM tags WHERE repository = @r AND name > @last ORDER BY name LIMIT @n", ct,
            ("@r", repository), ("@last", last ?? ""), ("@n", limit));
    }

    public async Task<IReadOnlyList<Descriptor>> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, """
            SELECT digest, media_type, size, artifact_type, annotations FROM manifests
            WHERE repository = @r AND subject = @s AND (@a::text IS NULL OR artifact_type = @a::text) ORDER BY created, digest
            """, r => new Descriptor(r.GetString(1), Digest.Parse(r.GetString(0)), r.GetInt64(2), Text(r, 3),
                r.IsDBNull(4) ? null : JsonSerializer.Deserialize(r.GetString(4), MetadataJson.Default.IReadOnlyDictionaryStringString)),
            ct, ("@r", repository), ("@s", subject.ToString()), ("@a", artifactType));
    }

    public async Task<IReadOnlyList<Digest>> ListUnreferencedBlobsAsync(DateTimeOffset before, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var digests = await Strings(c, null, """
            SELECT b.digest FROM blobs b
            WHERE b.created < @t
              AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.target = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)
            ORDER BY b.digest LIMIT @n
            """, ct, ("@t", Ms(before)), ("@n", limit));
        return digests.Select(Digest.Parse).ToList();
    }

    public async Task<IReadOnlyList<TagInfo>?> ListTagInfoAsync(string repository, string? last, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        if (await Scalar(c, null, "SELECT 1 FROM repositories WHERE name = @r", ct, ("@r", repository)) is null) return null;
        return await Rows(c, null, "SELECT name, digest, updated FROM tags WHERE repository = @r AND name > @last ORDER BY name LIMIT @n",
            r => new TagInfo(r.GetString(0), Digest.Parse(r.GetString(1)), Time(r.GetInt64(2))), ct, ("@r", repository), ("@last", last ?? ""), ("@n", limit));
    }

    private static async Task<ManifestInfo?> ManifestRow(NpgsqlConnection c, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        var rows = await Rows(c, null, sql, r => new ManifestInfo(Digest.Parse(r.GetString(0)), r.GetString(1), r.GetInt64(2)), ct, p);
        return rows.Count > 0 ? rows[0] : null;
    }
}
