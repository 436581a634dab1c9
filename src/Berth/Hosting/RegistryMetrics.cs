using System.Collections.Concurrent;
using Berth.Core.Registry;
using Prometheus;

namespace Berth.Hosting;

/// <summary>
/// Every metric the server exports at <c>/metrics</c>, on a registry of its own (no default collectors: prometheus-net's
/// EventCounter and Meter adapters would listen to every runtime and Kestrel event, a cost per request), with methods named
/// after what happened so other parts (the webhook dispatcher, garbage collection) report without knowing Prometheus.
/// Labels are a fixed set: routes are names from <see cref="RouteNames"/>, never paths, so cardinality stays bounded
/// (routes x methods x status codes).
/// </summary>
public sealed class RegistryMetrics
{
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    private readonly Histogram _duration;
    private readonly Counter _bytesIn;
    private readonly Counter _bytesOut;
    private readonly Gauge _uploadsInProgress;
    private readonly Gauge _storageBytes;
    private readonly Gauge _storageBlobs;
    private readonly Counter _gcRuns;
    private readonly Counter _gcBytesFreed;
    private readonly Counter _gcBlobsDeleted;
    private readonly Counter _webhookDeliveries;
    private readonly Counter _webhookFailures;

    // The child series of each (route, method, status), resolved once: the per-request cost is one lookup by a number,
    // no label array and no string built.
    private readonly ConcurrentDictionary<int, Histogram.Child> _requestSeries = new();

    public RegistryMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        _duration = factory.CreateHistogram("berth_http_request_duration_seconds", "Requests by route, method and status, and how long each took.",
            ["route", "method", "status"], new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 4, 8) });
        _bytesIn = factory.CreateCounter("berth_http_request_bytes_total", "Bytes received in request bodies.");
        _bytesOut = factory.CreateCounter("berth_http_response_bytes_total", "Bytes sent in response bodies.");
        _uploadsInProgress = factory.CreateGauge("berth_uploads_in_progress", "Blob upload requests (POST, PATCH, PUT of an upload) being served now.");
        _storageBytes = factory.CreateGauge("berth_storage_bytes", "Bytes of all committed blobs, as the metadata records them (refreshed periodically).");
        _storageBlobs = factory.CreateGauge("berth_storage_blobs", "Committed blobs, each digest once (refreshed periodically).");
        var cacheHits = factory.CreateGauge("berth_manifest_cache_hits", "Manifest cache lookups answered from memory since start.");
        var cacheMisses = factory.CreateGauge("berth_manifest_cache_misses", "Manifest cache lookups that went to the database since start.");
        var cacheRatio = factory.CreateGauge("berth_manifest_cache_hit_ratio", "Hits over lookups of the manifest cache since start (0 before any lookup).");
        var cacheBytes = factory.CreateGauge("berth_manifest_cache_bytes", "Bytes the manifest cache holds, by its own accounting.");
        _gcRuns = factory.CreateCounter("berth_gc_runs_total", "Garbage collection runs completed.");
        _gcBytesFreed = factory.CreateCounter("berth_gc_bytes_freed_total", "Bytes of blobs garbage collection deleted.");
        _gcBlobsDeleted = factory.CreateCounter("berth_gc_blobs_deleted_total", "Blobs garbage collection deleted.");
        _webhookDeliveries = factory.CreateCounter("berth_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, retry, failed).", ["outcome"]);
        _webhookFailures = factory.CreateCounter("berth_webhook_failures_total", "Webhook deliveries given up after their last attempt.");
        Registry.AddBeforeCollectCallback(() =>
        {
            if (Cache is not { } cache) return;
            var (hits, misses) = cache.Lookups;
            cacheHits.Set(hits);
            cacheMisses.Set(misses);
            cacheRatio.Set(hits + misses == 0 ? 0 : (double)hits / (hits + misses));
            cacheBytes.Set(cache.Bytes);
        });
        DotNetStats.Register(Registry);
    }

    /// <summary>The manifest cache whose hit ratio is exported, read at each scrape.</summary>
    public RegistryCache? Cache { get; set; }

    public void RequestServed(string route, string method, int status, double seconds)
    {
        var m = MethodIndex(method);
        var key = (RouteNames.Index(route) << 16) | (m << 10) | (status & 0x3FF);
        if (!_requestSeries.TryGetValue(key, out var series))
        {
            series = _requestSeries.GetOrAdd(key, _duration.WithLabels(route, m < Methods.Length ? Methods[m] : "OTHER", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        series.Observe(seconds);
    }

    public void BytesReceived(long bytes)
    {
        if (bytes > 0) _bytesIn.Inc(bytes);
    }

    public void BytesSent(long bytes)
    {
        if (bytes > 0) _bytesOut.Inc(bytes);
    }

    public void UploadStarted() => _uploadsInProgress.Inc();

    public void UploadEnded() => _uploadsInProgress.Dec();

    public void StorageMeasured(long blobs, long bytes)
    {
        _storageBlobs.Set(blobs);
        _storageBytes.Set(bytes);
    }

    /// <summary>For garbage collection: one completed run, what it deleted.</summary>
    public void GcCompleted(long bytesFreed, long blobsDeleted)
    {
        _gcRuns.Inc();
        if (bytesFreed > 0) _gcBytesFreed.Inc(bytesFreed);
        if (blobsDeleted > 0) _gcBlobsDeleted.Inc(blobsDeleted);
    }

    /// <summary>A webhook delivery was attempted: "delivered", "retry" (it failed and will be tried again) or "failed" (given up).</summary>
    public void WebhookAttempted(string outcome)
    {
        _webhookDeliveries.WithLabels(outcome).Inc();
        if (outcome == "failed") _webhookFailures.Inc();
    }

    private static readonly string[] Methods = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"];

    private static int MethodIndex(string method) => method switch
    {
        "GET" => 0,
        "HEAD" => 1,
        "PUT" => 2,
        "POST" => 3,
        "PATCH" => 4,
        "DELETE" => 5,
        "OPTIONS" => 6,
        _ => 7,
    };
}

/// <summary>The route label of a request: a name from a fixed list, found from the path without allocating.</summary>
public static class RouteNames
{
    public const string Base = "v2";
    public const string Catalog = "catalog";
    public const string Tags = "tags";
    public const string Manifest = "manifest";
    public const string Blob = "blob";
    public const string Upload = "upload";
    public const string Referrers = "referrers";
    public const string OtherV2 = "v2_other";
    public const string Token = "token";
    public const string Management = "management";
    public const string Search = "search";
    public const string Health = "health";
    public const string Metrics = "metrics";
    public const string Other = "other";

    private static readonly string[] All = [Base, Catalog, Tags, Manifest, Blob, Upload, Referrers, OtherV2, Token, Management, Search, Health, Metrics, Other];

    public static int Index(string route) => Array.IndexOf(All, route) is var i and >= 0 ? i : All.Length - 1;

    public static string Of(string path)
    {
        if (path.StartsWith("/v2", StringComparison.Ordinal))
        {
            var p = path.AsSpan(3);
            if (p.IsEmpty || p is "/") return Base;
            if (p is "/_catalog") return Catalog;
            if (p.EndsWith("/tags/list")) return Tags;
            if (p.Contains("/blobs/uploads", StringComparison.Ordinal)) return Upload;
            var head = p[..Math.Max(0, p.LastIndexOf('/'))];
            var kind = head[(head.LastIndexOf('/') + 1)..];
            return kind switch
            {
                "manifests" => Manifest,
                "blobs" => Blob,
                "referrers" => Referrers,
                _ => OtherV2,
            };
        }
        return path switch
        {
            "/token" => Token,
            "/v1/search" => Search,
            "/healthz" or "/readyz" => Health,
            "/metrics" => Metrics,
            _ when path.StartsWith("/api/v1/", StringComparison.Ordinal) => Management,
            _ => Other,
        };
    }
}
