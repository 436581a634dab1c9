using System.Text.Json;
using Berth.Core;
using Berth.Core.Metadata;
using Microsoft.Data.Sqlite;
using static Berth.Metadata.Sql;

namespace Berth.Metadata;

/// <summary>
/// Metadata in SQLite (see <see cref="SqliteDatabase"/> for the durability and locking rules).
/// </summary>
public sealed class SqliteMetadataStore : IMetadataStore
{
    private readonly SqliteDatabase _db;

    public SqliteMetadataStore(string path, TimeProvider time) => _db = new SqliteDatabase(path, time);

    public SqliteMetadataStore(SqliteDatabase db) => _db = db;

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => _db.OpenAsync(ct);

    public async Task MigrateAsync(CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await Exec(c, null, "PRAGMA journal_mode=WAL;", ct);
        var version = Convert.ToInt32(await Scalar(c, null, "PRAGMA user_version;", ct));
        if (version > Migrations.Steps.Length)
        {
            throw new InvalidOperationException($"the database has schema version {version}, newer than this Berth knows ({Migrations.Steps.Length}); upgrade Berth");
        }
        for (var i = version; i < Migrations.Steps.Length; i++)
        {
            await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
            await Exec(c, tx, Migrations.Steps[i], ct);
            await Exec(c, tx, $"PRAGMA user_version = {i + 1};", ct);
            await tx.CommitAsync(ct);
        }
    }

    public async Task<bool> RepositoryExistsAsync(string repository, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await Scalar(c, null, "SELECT 1 FROM repositories WHERE name = $r", ct, ("$r", repository)) is not null;
    }

    public async Task<IReadOnlyList<string>> ListRepositoriesAsync(string? last, int limit, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await Strings(c, null, "SELECT name FROM repositories WHERE name > $last ORDER BY name LIMIT $n", ct, ("$last", last ?? ""), ("$n", limit));
    }

    public async Task<long?> GetLinkedBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var size = await Scalar(c, null,
            "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repository = $r AND l.digest = $d",
            ct, ("$r", repository), ("$d", digest.ToString()));
        return size is null ? null : Convert.ToInt64(size);
    }

    public async Task MarkUploadCommittingAsync(string id, long size, Digest digest, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await Exec(c, null, "UPDATE uploads SET size = $s, committing = $d WHERE id = $id", ct, ("$id", id), ("$s", size), ("$d", digest.ToString()));
    }

    public async Task CompleteUploadAsync(UploadSession session, Digest digest, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var now = _db.Now();
        await EnsureRepository(c, tx, session.Repository, now, ct);
        await Exec(c, tx, "INSERT INTO blobs (digest, size, created) VALUES ($d, $s, $t) ON CONFLICT DO NOTHING", ct, ("$d", digest.ToString()), ("$s", session.Size), ("$t", now));
        await Link(c, tx, session.Repository, digest.ToString(), now, ct);
        await Exec(c, tx, "DELETE FROM uploads WHERE id = $id", ct, ("$id", session.Id));
        await tx.CommitAsync(ct);
    }

    public async Task<long?> MountBlobAsync(string repository, Digest digest, string? from, Func<string, ValueTask<bool>> mayRead, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var sources = from is not null
            ? [from]
            : await Strings(c, tx, "SELECT repository FROM repository_blobs WHERE digest = $d ORDER BY repository LIMIT 1000", ct, ("$d", digest.ToString()));
        foreach (var source in sources)
        {
            if (!await mayRead(source)) continue;
            var size = await Scalar(c, tx,
                "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repository = $r AND l.digest = $d",
                ct, ("$r", source), ("$d", digest.ToString()));
            if (size is null) continue;
            var now = _db.Now();
            await EnsureRepository(c, tx, repository, now, ct);
            await Link(c, tx, repository, digest.ToString(), now, ct);
            await tx.CommitAsync(ct);
            return Convert.ToInt64(size);
        }
        return null;
    }

    public async Task<bool> UnlinkBlobAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await Exec(c, null, "DELETE FROM repository_blobs WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", digest.ToString())) > 0;
    }

    public async Task CreateUploadAsync(UploadSession session, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await Exec(c, null, "INSERT INTO uploads (id, repository, size, started, updated) VALUES ($id, $r, $s, $t, $u)", ct,
            ("$id", session.Id), ("$r", session.Repository), ("$s", session.Size), ("$t", session.Started.ToUnixTimeMilliseconds()), ("$u", session.Updated.ToUnixTimeMilliseconds()));
    }

    public async Task<UploadSession?> GetUploadAsync(string id, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var list = await Uploads(c, "SELECT id, repository, size, started, updated, committing FROM uploads WHERE id = $id", ct, ("$id", id));
        return list.Count == 0 ? null : list[0];
    }

    public async Task UpdateUploadAsync(string id, long size, DateTimeOffset updated, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await Exec(c, null, "UPDATE uploads SET size = $s, updated = $u WHERE id = $id", ct, ("$id", id), ("$s", size), ("$u", updated.ToUnixTimeMilliseconds()));
    }

    public async Task DeleteUploadAsync(string id, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await Exec(c, null, "DELETE FROM uploads WHERE id = $id", ct, ("$id", id));
    }

    public async Task<IReadOnlyList<UploadSession>> ListUploadsUpdatedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await Uploads(c, "SELECT id, repository, size, started, updated, committing FROM uploads WHERE updated < $t LIMIT 10000", ct, ("$t", cutoff.ToUnixTimeMilliseconds()));
    }

    public async Task PutManifestAsync(string repository, Manifest manifest, string? tag, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
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
            await Exec(c, tx,
                "INSERT INTO tags (repository, name, digest, updated) VALUES ($r, $n, $d, $t) ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
                ct, ("$r", repository), ("$n", tag), ("$d", digest), ("$t", t));
        }
        await tx.CommitAsync(ct);
    }

    public async Task<ManifestInfo?> GetManifestAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await ManifestRow(c, "SELECT digest, media_type, size FROM manifests WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", digest.ToString()));
    }

    public async Task<ManifestInfo?> ResolveTagAsync(string repository, string tag, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await ManifestRow(c,
            "SELECT m.digest, m.media_type, m.size FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest WHERE t.repository = $r AND t.name = $n",
            ct, ("$r", repository), ("$n", tag));
    }

    public async Task<bool> DeleteManifestAsync(string repository, Digest digest, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var d = digest.ToString();
        var deleted = await Exec(c, tx, "DELETE FROM manifests WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", d));
        if (deleted == 0) return false;
        await Exec(c, tx, "DELETE FROM tags WHERE repository = $r AND digest = $d", ct, ("$r", repository), ("$d", d));
        await Exec(c, tx, "DELETE FROM manifest_references WHERE repository = $r AND manifest = $d", ct, ("$r", repository), ("$d", d));
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await Exec(c, null, "DELETE FROM tags WHERE repository = $r AND name = $n", ct, ("$r", repository), ("$n", tag)) > 0;
    }

    public async Task<IReadOnlyList<string>?> ListTagsAsync(string repository, string? last, int limit, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        if (await Scalar(c, null, "SELECT 1 FROM repositories WHERE name = $r", ct, ("$r", repository)) is null) return null;
        return await Strings(c, null, "SELECT name FROM tags WHERE repository = $r AND name > $last ORDER BY name LIMIT $n", ct,
            ("$r", repository), ("$last", last ?? ""), ("$n", limit));
    }

    public async Task<IReadOnlyList<Descriptor>> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
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

    private static Task EnsureRepository(SqliteConnection c, SqliteTransaction tx, string repository, long now, CancellationToken ct) =>
        Exec(c, tx, "INSERT INTO repositories (name, created) VALUES ($r, $t) ON CONFLICT DO NOTHING", ct, ("$r", repository), ("$t", now));

    private static Task Link(SqliteConnection c, SqliteTransaction tx, string repository, string digest, long now, CancellationToken ct) =>
        Exec(c, tx, "INSERT INTO repository_blobs (repository, digest, created) VALUES ($r, $d, $t) ON CONFLICT DO NOTHING", ct, ("$r", repository), ("$d", digest), ("$t", now));

    private static async Task<ManifestInfo?> ManifestRow(SqliteConnection c, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var cmd = Command(c, null, sql, p);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new ManifestInfo(Digest.Parse(reader.GetString(0)), reader.GetString(1), reader.GetInt64(2)) : null;
    }

    private static async Task<List<UploadSession>> Uploads(SqliteConnection c, string sql, CancellationToken ct, params (string, object?)[] p)
    {
        await using var cmd = Command(c, null, sql, p);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<UploadSession>();
        while (await reader.ReadAsync(ct))
        {
            result.Add(new UploadSession(reader.GetString(0), reader.GetString(1), reader.GetInt64(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                reader.IsDBNull(5) ? null : Digest.Parse(reader.GetString(5))));
        }
        return result;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class MetadataJson : System.Text.Json.Serialization.JsonSerializerContext;
