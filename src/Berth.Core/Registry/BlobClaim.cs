using Berth.Core.Metadata;

namespace Berth.Core.Registry;

/// <summary>How a writer claims a digest before storing it (<see cref="IBlobClaims"/>), waiting out a deletion in progress.</summary>
public static class BlobClaim
{
    /// <summary>How long a writer waits for garbage collection to finish deleting the digest before it refuses with a retryable 429.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Claims <paramref name="digest"/> and returns the claim's id (release it after the transaction that records the
    /// content). While the digest is being deleted, waits until its row is gone (the writer then stores its own copy);
    /// after <see cref="MaxWait"/> throws <see cref="ErrorCode.TooManyRequests"/>, which clients retry.
    /// </summary>
    public static async Task<string> ClaimAsync(IBlobClaims claims, Digest digest, TimeProvider time, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString("N");
        // Real time, not the injected clock: this waits for another process's work, not for a schedule.
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(5);
        while (!await claims.TryClaimAsync(digest, id, time.GetUtcNow(), ct))
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(start) > MaxWait)
            {
                throw new RegistryException(ErrorCode.TooManyRequests, $"{digest} is being removed by garbage collection; retry the push",
                    ErrorDetail.Of(("digest", digest.ToString())));
            }
            await Task.Delay(delay, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
        }
        return id;
    }
}
