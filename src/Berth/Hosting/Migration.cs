using System.Security.Cryptography;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Metadata;

namespace Berth.Hosting;

/// <summary>
/// <c>berth migrate</c>: a single node's data directory (SQLite and blobs on the filesystem) into the backends of a cluster
/// configuration (PostgreSQL, and S3 or another blob store). Blobs first, each streamed once and checked against its digest
/// on the way; then, only when every blob arrived intact, the metadata in one transaction; then the token signing key, so
/// tokens already issued stay valid. A target database that already holds repositories or accounts is refused.
/// </summary>
internal static class Migration
{
    public static async Task RunAsync(BerthOptions source, BerthOptions target, TimeProvider time, TextWriter output, CancellationToken ct)
    {
        if (source.Metadata.Type != MetadataOptions.Sqlite)
        {
            throw new StartupException("the source must be a single node's data directory (metadata.type sqlite); check --config and --data", ExitCodes.Usage);
        }
        if (target.Metadata.Type != MetadataOptions.PostgresType)
        {
            throw new StartupException("the target configuration (--to) must name metadata.type postgres", ExitCodes.Usage);
        }
        var notices = new List<string>();
        var sqlite = await DataDirectory.OpenAsync(source.Data, create: false, notices, time, ct);
        var from = await Backends.OpenBlobStorageAsync(source, time, ct);
        var to = await Backends.OpenBlobStorageAsync(target, time, ct);
        var postgres = await Backends.OpenPostgresAsync(target.Metadata.Postgres.ConnectionString!, create: true, time, ct);
        foreach (var notice in notices) output.WriteLine(notice);

        long blobs = 0, bytes = 0;
        var problems = new List<string>();
        await foreach (var (digest, size) in MetadataCopy.BlobsAsync(sqlite, ct))
        {
            if (await CopyBlobAsync(from, to, digest, size, ct) is { } problem)
            {
                problems.Add(problem);
                continue;
            }
            blobs++;
            bytes += size;
            if (blobs % 1000 == 0) output.WriteLine($"{blobs} blobs copied ({bytes >> 20} MiB)");
        }
        output.WriteLine($"{blobs} blobs copied ({bytes >> 20} MiB), each checked against its digest");
        if (problems.Count > 0)
        {
            foreach (var p in problems.Take(50)) output.WriteLine(p);
            throw new StartupException($"{problems.Count} blobs are missing or damaged in the source (above); nothing of the metadata was copied");
        }

        try
        {
            foreach (var (table, rows) in await MetadataCopy.CopyAsync(sqlite, postgres, ct)) output.WriteLine($"{table}: {rows} rows");
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException($"metadata: {e.Message}");
        }

        // The key the single node signed with: auth.tokenKey's file when it names one, else the data directory's.
        var key = await Backends.TokenKeyAsync(source, new FileSecrets(Path.GetFullPath(source.Data)), ct);
        var kept = await new PostgresSharedSecrets(postgres).GetOrAddAsync(Backends.TokenKeyName, () => key, ct);
        output.WriteLine(kept == key
            ? "token signing key copied: tokens issued by the old node stay valid"
            : "the target already had a token signing key: tokens issued by the old node must be requested again");
        output.WriteLine("done: point the nodes at the target configuration");
    }

    /// <summary>Streams one blob into the target's staging while hashing it, and commits it only when the digest matches; null, or what went wrong.</summary>
    private static async Task<string?> CopyBlobAsync(BlobStorage from, BlobStorage to, Digest digest, long size, CancellationToken ct)
    {
        using var read = await from.Blobs.ReadAsync(digest, 0, size, ct);
        if (read?.Content is not { } content) return $"{digest}: missing from the source storage";
        var id = Guid.NewGuid().ToString("N");
        using var hash = IncrementalHash.CreateHash(Digest.HashName(digest.Algorithm));
        long copied = 0;
        await using (var writer = await to.Staging.OpenUploadAsync(id, 0, ct))
        {
            int n;
            while ((n = await content.ReadAsync(writer.Buffer, ct)) > 0)
            {
                hash.AppendData(writer.Buffer.Span[..n]);
                await writer.WriteAsync(n, ct);
                copied += n;
            }
        }
        var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
        if (copied != size || actual != digest)
        {
            await to.Staging.DeleteUploadAsync(id, ct);
            return $"{digest}: the source holds {copied} bytes hashing to {actual} (recorded: {size} bytes)";
        }
        await to.Staging.CommitUploadAsync(id, size, digest, ct);
        return null;
    }
}
