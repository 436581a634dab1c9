using System.Globalization;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Berth.Core;

namespace Berth.Storage.S3;

/// <summary>Where the S3 backend keeps its objects, and how it reaches them (<c>storage.s3</c>).</summary>
/// <param name="Endpoint">The service URL, e.g. http://127.0.0.1:7480 (radosgw) or https://s3.us-east-1.amazonaws.com.</param>
/// <param name="ForcePathStyle">Address buckets as http://host/bucket/key (radosgw, MinIO) rather than as host names.</param>
/// <param name="Redirect">Blob reads answer with a pre-signed GET URL instead of the bytes.</param>
public sealed record S3Settings(string Endpoint, string Bucket, string Region, string AccessKey, string SecretKey, bool ForcePathStyle = true, bool Redirect = false)
{
    /// <summary>The keys stay out of logs and exception messages: a record would print them.</summary>
    public override string ToString() => $"S3 bucket {Bucket} at {Endpoint}";
}

/// <summary>
/// One bucket and its object layout, shared by <see cref="S3BlobStore"/> and <see cref="S3UploadStaging"/>:
/// <list type="bullet">
/// <item><c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>: finished blobs (written once, by a PUT, a server-side copy or a completed
/// multipart upload, so a key is visible only whole).</item>
/// <item><c>uploads/&lt;id&gt;/&lt;offset&gt;</c>: one object per append to upload id, named by the offset it starts at
/// (19 digits, so the names sort by offset). An append larger than <see cref="PartSize"/> is itself a multipart upload
/// of that key while it runs.</item>
/// </list>
/// </summary>
public sealed class S3Bucket : IDisposable
{
    /// <summary>The smallest part S3 accepts except the last.</summary>
    public const long MinPart = 5L << 20;

    /// <summary>The largest part and the largest single server-side copy S3 accepts.</summary>
    public const long MaxCopy = 5L << 30;

    /// <summary>What an append buffers before it sends a part (two of these per running append, at most).</summary>
    public const int PartSize = 8 << 20;

    private const string UploadsRoot = "uploads/";

    public S3Bucket(S3Settings settings)
    {
        Settings = settings;
        var config = new AmazonS3Config
        {
            ServiceURL = settings.Endpoint,
            ForcePathStyle = settings.ForcePathStyle,
            AuthenticationRegion = settings.Region,
            // radosgw (and other S3-compatible stores) do not know the SDK's default CRC checksums.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        Client = new AmazonS3Client(new BasicAWSCredentials(settings.AccessKey, settings.SecretKey), config);
    }

    public S3Settings Settings { get; }

    public IAmazonS3 Client { get; }

    public string Name => Settings.Bucket;

    public static string BlobKey(Digest digest) => $"blobs/{digest.Algorithm}/{digest.Hex}";

    public static string UploadPrefix(string id) => UploadsRoot + id + "/";

    public static string AppendKey(string id, long offset) => UploadPrefix(id) + offset.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The upload id of a key under <c>uploads/</c>, or null.</summary>
    public static string? UploadIdOf(string key)
    {
        if (!key.StartsWith(UploadsRoot, StringComparison.Ordinal)) return null;
        var slash = key.IndexOf('/', UploadsRoot.Length);
        return slash < 0 ? null : key[UploadsRoot.Length..slash];
    }

    /// <summary>The offset an append object starts at, from its key; null for a key that is not one.</summary>
    public static long? OffsetOf(string key)
    {
        var slash = key.LastIndexOf('/');
        var tail = key.AsSpan(slash + 1);
        return tail.Length == 19 && long.TryParse(tail, NumberStyles.None, CultureInfo.InvariantCulture, out var offset) ? offset : null;
    }

    public static string UploadsPrefix => UploadsRoot;

    /// <summary>Fails with a message naming the bucket and endpoint (never the keys) when the bucket cannot be reached.</summary>
    public async Task CheckAsync(CancellationToken ct)
    {
        try
        {
            await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Name, MaxKeys = 1 }, ct);
        }
        catch (AmazonS3Exception e)
        {
            throw new InvalidOperationException($"{Settings}: {e.ErrorCode ?? e.StatusCode.ToString()} ({e.Message})", e);
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"{Settings}: {e.Message}", e);
        }
    }

    /// <summary>HEAD: the object's size, or null when it is absent.</summary>
    public async Task<long?> SizeAsync(string key, CancellationToken ct)
    {
        try
        {
            var head = await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Name, Key = key }, ct);
            return head.ContentLength;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Every object under <paramref name="prefix"/> after <paramref name="startAfter"/>, in key order.</summary>
    public async IAsyncEnumerable<S3Object> ListAsync(string prefix, string? startAfter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var request = new ListObjectsV2Request { BucketName = Name, Prefix = prefix, StartAfter = startAfter };
        while (true)
        {
            var page = await Client.ListObjectsV2Async(request, ct);
            foreach (var o in page.S3Objects ?? []) yield return o;
            if (page.IsTruncated != true) yield break;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>Multipart uploads in progress under <paramref name="prefix"/> (an interrupted append or composition).</summary>
    public async IAsyncEnumerable<MultipartUpload> ListMultipartAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var request = new ListMultipartUploadsRequest { BucketName = Name, Prefix = prefix };
        while (true)
        {
            var page = await Client.ListMultipartUploadsAsync(request, ct);
            foreach (var u in page.MultipartUploads ?? []) yield return u;
            if (page.IsTruncated != true) yield break;
            request.KeyMarker = page.NextKeyMarker;
            request.UploadIdMarker = page.NextUploadIdMarker;
        }
    }

    public async Task AbortAsync(string key, string uploadId, CancellationToken ct)
    {
        try
        {
            await Client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Name, Key = key, UploadId = uploadId }, ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Completed or aborted by someone else meanwhile.
        }
    }

    /// <summary>Deletes the keys (absent ones are not an error), a thousand per request.</summary>
    public async Task DeleteAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        for (var i = 0; i < keys.Count; i += 1000)
        {
            var batch = keys.Skip(i).Take(1000).Select(k => new KeyVersion { Key = k }).ToList();
            var result = await Client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = Name, Objects = batch, Quiet = true }, ct);
            if (result.DeleteErrors is { Count: > 0 } errors)
            {
                throw new IOException($"{Settings}: could not delete {errors[0].Key}: {errors[0].Code} {errors[0].Message}");
            }
        }
    }

    public void Dispose() => Client.Dispose();
}
