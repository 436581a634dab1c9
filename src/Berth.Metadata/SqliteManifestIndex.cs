using System.Text.Json;
using Berth.Core;
using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

public sealed class SqliteManifestIndex(SqliteDatabase db) : IManifestIndex
{
    public async Task PutManifestAsync(string repository, Manifest manifest, string? tag, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var t = now.ToUnixTimeMilliseconds();
        var digest = manifest.Digest.ToString();
        await EnsureRepository(c, tx, repository, t, ct);
        foreach (var blob in manifest.RequiredBlobs)
        {
            if (await Scalar(c, tx, "SELECT 1 FROM repository_blobs WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", blob.Digest.ToString())) is null)
            {
                throw new RegistryException(ErrorCode.ManifestBlobUnknown, $"blob {blob.Digest} is not in repository {repository}", ErrorDetail.Of(("digest", blob.Digest.ToString())));
            }
        }
        foreach (var child in manifest.Children)
        {
            if (await Scalar(c, tx, "SELECT 1 FROM manifests WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", child.Digest.ToString())) is null)
            {
                throw new RegistryException(ErrorCode.ManifestBlobUnknown, $"manifest {child.Digest} is not in repository {repository}", ErrorDetail.Of(("digest", child.Digest.ToString())));
            }
        }
        await Exec(c, tx, "INSERT INTO blobs (digest, size, created) VALUES ($d, $s, $t) ON CONFLICT DO NOTHING", ct, ("$d", digest), ("$s", manifest.Content.Length), ("$t", t));
        await Exec(c, tx,
            """
            INSERT INTO manifests (repository, digest, media_type, size, artifact_type, subject, annotations, created)
            VALUES ($r, $d, $m, $s, $a, $subj, $ann, $t)
            ON CONFLICT (repository, digest) DO NOTHING
            """, ct,
            ("$r", repository), ("$d", digest), ("$m", manifest.MediaType), ("$s", manifest.Content.Length),
            ("$a", manifest.EffectiveArtifactType), ("$subj", manifest.Subject?.Digest.ToString()),
            ("$ann", manifest.Annotations is null ? null : JsonSerializer.Serialize(manifest.Annotations, MetadataJson.Default.IReadOnlyDictionaryStringString)), ("$t", t));
        foreach (var target in manifest.RequiredBlobs.Concat(manifest.Children).Select(d => d.Digest.ToString()).Distinct())
        {
            await Exec(c, tx, "INSERT INTO manifest_references (repository, manifest, target) VALUES ($r, $m, $t) ON CONFLICT DO NOTHING", ct,
                ("$r", repository), ("$m", digest), ("$t", target));
        }
        if (tag is not null)
        {
            var previous = await Scalar(c, tx, "SELECT digest FROM tags WHERE repository = $r AND name = $n", ct, ("$r", repository), ("$n", tag)) as string;
            if (previous is not null && previous != digest) await SqlitePolicies.RefuseImmutableAsync(c, tx, repository, tag, deleting: false, ct);
            if (previous is not null && previous != digest)
            {
                await Event(c, tx, new RegistryEvent(0, now, EventKinds.TagMove, repository, Digest: digest, Tag: tag, Detail: previous), ct);
            }
            await Exec(c, tx,
                "INSERT INTO tags (repository, name, digest, updated) VALUES ($r, $n, $d, $t) ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
                ct, ("$r", repository), ("$n", tag), ("$d", digest), ("$t", t));
        }
        await Event(c, tx, new RegistryEvent(0, now, EventKinds.ManifestPut, repository, Digest: digest, Tag: tag), ct);
        await tx.CommitAsync(ct);
    }

    public Task<ManifestInfo?> GetManifestAsync(string repository, Digest digest, CancellationToken ct) =>
        Task.FromResult(ReadOne(db, "SELECT digest, media_type, size FROM manifests WHERE repository = $r AND digest = $d", ManifestRow, ct,
            ("$r", repository), ("$d", digest.ToString())));

    public Task<ManifestInfo?> ResolveTagAsync(string repository, string tag, CancellationToken ct) =>
        Task.FromResult(ReadOne(db,
            "SELECT m.digest, m.media_type, m.size FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest WHERE t.repository = $r AND t.name = $n",
            ManifestRow, ct, ("$r", repository), ("$n", tag)));

    public async Task<bool> DeleteManifestAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var d = digest.ToString();
        var deleted = await Exec(c, tx, "DELETE FROM manifests WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", d));
        if (deleted == 0) return false;
        await SqlitePolicies.RefuseImmutableTagsOfAsync(c, tx, repository, d, ct);
        await Exec(c, tx, "DELETE FROM tags WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", d));
        await Exec(c, tx, "DELETE FROM manifest_references WHERE repository = $r AND manifest = $d", ct, ("$r", repository), ("$d", d));
        await Event(c, tx, new RegistryEvent(0, Time(db.Now()), EventKinds.ManifestDelete, repository, Digest: d), ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var digest = await Scalar(c, tx, "DELETE FROM tags WHERE repository = $r AND name = $n RETURNING digest", ct, ("$r", repository), ("$n", tag)) as string;
        if (digest is null) return false;
        await SqlitePolicies.RefuseImmutableAsync(c, tx, repository, tag, deleting: true, ct);
        await Event(c, tx, new RegistryEvent(0, Time(db.Now()), EventKinds.TagDelete, repository, Digest: digest, Tag: tag), ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public Task<IReadOnlyList<string>?> ListTagsAsync(string repository, string? last, int limit, CancellationToken ct)
    {
        if (ReadScalar(db, "SELECT 1 FROM repositories WHERE name = $r", ct, ("$r", repository)) is null) return Task.FromResult<IReadOnlyList<string>?>(null);
        return Task.FromResult<IReadOnlyList<string>?>(ReadStrings(db, "SELECT name FROM tags WHERE repository = $r AND name > $last ORDER BY name LIMIT $n", ct,
            ("$r", repository), ("$last", last ?? ""), ("$n", limit)));
    }

    public async Task<IReadOnlyList<Descriptor>> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        await using var cmd = Command(c, null,
            "SELECT digest, media_type, size, artifact_type, annotations FROM manifests WHERE repository = $r AND subject = $s AND ($a IS NULL OR artifact_type = $a) ORDER BY created, digest",
            ("$r", repository), ("$s", subject.ToString()), ("$a", artifactType));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<Descriptor>();
        while (await reader.ReadAsync(ct))
        {
            var annotations = reader.IsDBNull(4) ? null : JsonSerializer.Deserialize(reader.GetString(4), MetadataJson.Default.IReadOnlyDictionaryStringString);
            result.Add(new Descriptor(reader.GetString(1), Digest.Parse(reader.GetString(0)), reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), annotations));
        }
        return result;
    }

    public async Task<IReadOnlyList<Digest>> ListUnreferencedBlobsAsync(DateTimeOffset before, int limit, CancellationToken ct)
    {
        await using var c = await db.ConnectAsync(ct);
        var digests = await Strings(c, null, """
            SELECT b.digest FROM blobs b
            WHERE b.created < $t
              AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.target = b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)
            ORDER BY b.digest LIMIT $n
            """, ct, ("$t", Ms(before)), ("$n", limit));
        return digests.Select(Digest.Parse).ToList();
    }

    public async Task<IReadOnlyList<TagInfo>?> ListTagInfoAsync(string repository, string? last, int limit, CancellationToken ct)
    {
        if (ReadScalar(db, "SELECT 1 FROM repositories WHERE name = $r", ct, ("$r", repository)) is null) return null;
        await using var c = await db.ConnectAsync(ct);
        return await Rows(c, null, "SELECT name, digest, updated FROM tags WHERE repository = $r AND name > $last ORDER BY name LIMIT $n",
            r => new TagInfo(r.GetString(0), Digest.Parse(r.GetString(1)), Time(r.GetInt64(2))), ct, ("$r", repository), ("$last", last ?? ""), ("$n", limit));
    }

    private static ManifestInfo ManifestRow(SqliteDataReader reader) => new(Digest.Parse(reader.GetString(0)), reader.GetString(1), reader.GetInt64(2));
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class MetadataJson : System.Text.Json.Serialization.JsonSerializerContext;
