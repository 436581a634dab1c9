using System.Security.Cryptography;
using Berth.Core.Metadata;
using Berth.Core.Storage;

namespace Berth.Core.Policies;

/// <summary>
/// The quarantined digests as this node knows them: read from metadata at most every <see cref="RefreshInterval"/>
/// (lazily, by a reader, without waiting for it), and at once after this node quarantines or releases. The check on
/// the read paths is a volatile read, a tick compare and, only when something is quarantined, a set lookup: no I/O.
/// </summary>
public sealed class Quarantine(IIntegrity integrity)
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private volatile HashSet<Digest> _digests = [];
    private long _nextRefresh;
    private int _refreshing;

    /// <summary>Throws BLOB_UNKNOWN naming the quarantine when <paramref name="digest"/> is quarantined.</summary>
    public void ThrowIfQuarantined(Digest digest)
    {
        if (Contains(digest))
        {
            throw new RegistryException(ErrorCode.BlobUnknown, $"{digest} is quarantined: a scrub found its stored content damaged, so it is not served",
                ErrorDetail.Of(("digest", digest.ToString())));
        }
    }

    public bool Contains(Digest digest)
    {
        if (Environment.TickCount64 >= Volatile.Read(ref _nextRefresh)) StartRefresh();
        var set = _digests;
        return set.Count > 0 && set.Contains(digest);
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        var entries = await integrity.ListQuarantinedAsync(ct);
        _digests = [.. entries.Select(e => e.Digest)];
        Volatile.Write(ref _nextRefresh, Environment.TickCount64 + (long)RefreshInterval.TotalMilliseconds);
    }

    private void StartRefresh()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1) return;
        Volatile.Write(ref _nextRefresh, Environment.TickCount64 + (long)RefreshInterval.TotalMilliseconds);
        _ = Task.Run(async () =>
        {
            try
            {
                await RefreshAsync(CancellationToken.None);
            }
            catch
            {
                // Kept as it was; the next reader after the interval tries again.
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        });
    }
}

public sealed record ScrubFinding(string Digest, string Problem);

/// <summary>What a scrub checked and found.</summary>
public sealed record ScrubReport(int Blobs, long Bytes, IReadOnlyList<ScrubFinding> Damaged, IReadOnlyList<DanglingReference> Dangling, int Released,
    int Unchecked, double Seconds);

/// <summary>
/// Re-hashes every committed blob (manifests included) from the blob store, streaming, a few at a time, and checks that
/// every manifest's references are still in its repository. A blob that is missing, has another size or hashes to
/// another digest is quarantined (<see cref="IIntegrity.QuarantineAsync"/>): the read paths answer BLOB_UNKNOWN for it
/// instead of its bytes. The file is left where it is, for inspection; a quarantined blob that hashes right again (it
/// was restored) is released. Blobs behind a redirecting store (S3 with redirect) are read through the store as well.
/// </summary>
public sealed class ScrubService(IIntegrity integrity, IBlobStore store, Quarantine quarantine, TimeProvider time)
{
    public async Task<ScrubReport> RunAsync(int parallelism, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var damaged = new System.Collections.Concurrent.ConcurrentBag<ScrubFinding>();
        var before = (await integrity.ListQuarantinedAsync(ct)).Select(q => q.Digest).ToHashSet();
        var released = 0;
        var blobs = 0;
        var unchecked_ = 0;
        long bytes = 0;
        Digest? after = null;
        while (true)
        {
            var page = await integrity.ListBlobsAsync(after, 500, ct);
            if (page.Count == 0) break;
            after = page[^1].Digest;
            await Parallel.ForEachAsync(page, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct }, async (blob, token) =>
            {
                var problem = await CheckAsync(blob, token);
                Interlocked.Increment(ref blobs);
                Interlocked.Add(ref bytes, blob.Size);
                if (problem == Unchecked)
                {
                    Interlocked.Increment(ref unchecked_);
                }
                else if (problem is not null)
                {
                    damaged.Add(new ScrubFinding(blob.Digest.ToString(), problem));
                    await integrity.QuarantineAsync(blob.Digest, problem, time.GetUtcNow(), token);
                }
                else if (before.Contains(blob.Digest) && await integrity.ReleaseAsync(blob.Digest, token))
                {
                    Interlocked.Increment(ref released);
                }
            });
        }
        var dangling = await integrity.ListDanglingReferencesAsync(1000, ct);
        await quarantine.RefreshAsync(ct);
        return new ScrubReport(blobs, bytes, [.. damaged.OrderBy(d => d.Digest, StringComparer.Ordinal)], dangling, released, unchecked_,
            time.GetElapsedTime(started).TotalSeconds);
    }

    private const string Unchecked = "";

    /// <summary>Null when the stored bytes are the blob; else what is wrong.</summary>
    private async Task<string?> CheckAsync(RecordedBlob blob, CancellationToken ct)
    {
        using var read = await store.ReadAsync(blob.Digest, 0, blob.Size + 1, ct);
        if (read is null) return "missing from blob storage";
        if (read.Content is not { } content) return Unchecked;
        if (blob.Digest.Algorithm is not ("sha256" or "sha512")) return Unchecked;
        using var hash = IncrementalHash.CreateHash(blob.Digest.Algorithm == "sha256" ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA512);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        long total = 0;
        try
        {
            int n;
            while ((n = await content.ReadAsync(buffer, ct)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        if (total != blob.Size) return $"stored size {total} differs from the recorded {blob.Size}";
        var actual = Digest.FromHash(blob.Digest.Algorithm, hash.GetHashAndReset());
        return actual == blob.Digest ? null : $"content hashes to {actual}";
    }
}
