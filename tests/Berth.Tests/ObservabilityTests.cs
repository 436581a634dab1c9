using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using System.Text.Json;
using Berth.Configuration;
using Berth.Core.Observability;
using Berth.Hosting;
using Berth.Tests.Access;
using Berth.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Tests;

/// <summary>Authentication on, and client addresses from X-Forwarded-For, so a test can be a remote client.</summary>
public sealed class MetricsServer : AuthServer
{
    protected override BerthOptions Configure(BerthOptions options) => base.Configure(options) with { TrustProxy = true };
}

/// <summary>Request ids, /metrics on the main port, and the JSON log format.</summary>
public sealed class ObservabilityTests(MetricsServer server) : IClassFixture<MetricsServer>
{
    private static readonly HashSet<string> Routes =
        ["v2", "catalog", "tags", "manifest", "blob", "upload", "referrers", "v2_other", "token", "management", "search", "health", "metrics", "other"];

    private async Task<PrometheusText> ScrapeAsync(RegistryClient? client = null)
    {
        using var r = await (client ?? server.Client).GetAsync("/metrics");
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{(int)r.StatusCode} {text}");
        Assert.StartsWith("text/plain; version=0.0.4", r.Content.Headers.ContentType!.ToString());
        return PrometheusText.Parse(text);
    }

    [Fact]
    public async Task EveryAnswerCarriesARequestIdThatErrorsRepeat()
    {
        using var admin = server.Admin();
        using (var r = await admin.GetAsync("/v2/"))
        {
            Assert.False(string.IsNullOrEmpty(r.Header("X-Request-Id")));
        }
        using (var request = new HttpRequestMessage(HttpMethod.Get, admin.Url("/v2/obs/missing/manifests/latest")))
        {
            request.Headers.Authorization = admin.Authorization;
            request.Headers.Add("X-Request-Id", "ticket-42.a");
            using var r = await admin.SendAsync(request);
            Assert.Equal("ticket-42.a", r.Header("X-Request-Id"));
            var error = await FirstErrorAsync(r, HttpStatusCode.NotFound);
            Assert.Equal("ticket-42.a", error.GetProperty("detail").GetProperty("requestId").GetString());
        }
        foreach (var odd in new[] { "has spaces in it", new string('a', 65), "quote\"d" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, admin.Url("/v2/obs/missing/tags/list"));
            request.Headers.Authorization = admin.Authorization;
            request.Headers.TryAddWithoutValidation("X-Request-Id", odd);
            using var r = await admin.SendAsync(request);
            var id = r.Header("X-Request-Id");
            Assert.False(string.IsNullOrEmpty(id));
            Assert.NotEqual(odd, id);
            var error = await FirstErrorAsync(r, HttpStatusCode.NotFound);
            Assert.Equal(id, error.GetProperty("detail").GetProperty("requestId").GetString());
        }
    }

    private static async Task<JsonElement> FirstErrorAsync(HttpResponseMessage r, HttpStatusCode status)
    {
        Assert.Equal(status, r.StatusCode);
        return (await r.JsonAsync()).GetProperty("errors")[0];
    }

    [Fact]
    public async Task MetricsCountWhatWasServed()
    {
        using var admin = server.Admin();
        var before = await ScrapeAsync();
        var image = await admin.PushImageAsync("obs/app", "v1");
        for (var i = 0; i < 3; i++)
        {
            using var r = await admin.GetAsync("/v2/obs/app/manifests/v1", image.MediaType);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        using (var head = await admin.HeadAsync($"/v2/obs/app/blobs/{image.Layer.Digest}"))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }
        using (var missing = await admin.GetAsync("/v2/obs/app/manifests/nope"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        var after = await ScrapeAsync();

        const string requests = "berth_http_request_duration_seconds_count";
        double Delta(string name, params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);
        Assert.Equal(3, Delta(requests, ("route", "manifest"), ("method", "GET"), ("status", "200")));
        Assert.Equal(1, Delta(requests, ("route", "manifest"), ("method", "GET"), ("status", "404")));
        Assert.Equal(1, Delta(requests, ("route", "manifest"), ("method", "PUT"), ("status", "201")));
        Assert.Equal(1, Delta(requests, ("route", "blob"), ("method", "HEAD"), ("status", "200")));
        Assert.Equal(2, Delta(requests, ("route", "upload"), ("method", "POST"), ("status", "201")));
        Assert.True(Delta(requests, ("route", "metrics")) >= 1, "the first scrape is counted by the second");
        Assert.Equal("histogram", after.Types["berth_http_request_duration_seconds"]);
        // The labels are names from a fixed list: no path, repository or tag ever becomes one.
        Assert.All(after.Samples.Keys.Where(k => k.StartsWith("berth_http_request_duration_seconds", StringComparison.Ordinal)), k =>
        {
            Assert.DoesNotContain("obs/", k);
            Assert.Contains(Routes, r => k.Contains($"route=\"{r}\"", StringComparison.Ordinal));
        });

        var pushed = image.Config.Content.Length + image.Layer.Content.Length + image.Manifest.Length;
        Assert.True(Delta("berth_http_request_bytes_total") >= pushed, $"bytes in grew by {Delta("berth_http_request_bytes_total")}, pushed {pushed}");
        Assert.True(Delta("berth_http_response_bytes_total") >= 3 * image.Manifest.Length);
        // The first GET after the push fills the cache; the next two are hits.
        Assert.True(Delta("berth_manifest_cache_hits") >= 2, $"hits grew by {Delta("berth_manifest_cache_hits")}");
        var ratio = after.Value("berth_manifest_cache_hit_ratio")!.Value;
        Assert.InRange(ratio, 0.01, 1);
        Assert.Equal(0, after.Value("berth_uploads_in_progress"));

        // Storage totals come from the metadata when the storage-stats job runs; GC reports through RegistryMetrics.
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/storage-stats/run");
        server.Services.GetRequiredService<RegistryMetrics>().GcCompleted(bytesFreed: 4096, blobsDeleted: 2);
        var stats = await ScrapeAsync();
        Assert.True(stats.Value("berth_storage_blobs") >= 3, $"blobs {stats.Value("berth_storage_blobs")}");
        Assert.True(stats.Value("berth_storage_bytes") >= pushed);
        Assert.Equal(1, stats.Value("berth_gc_runs_total") - (after.Value("berth_gc_runs_total") ?? 0));
        Assert.Equal(4096, stats.Value("berth_gc_bytes_freed_total") - (after.Value("berth_gc_bytes_freed_total") ?? 0));
    }

    [Fact]
    public async Task MetricsAreForLoopbackClientsAndSiteAdministrators()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"metricsbob","password":"metricsbob-password"}""", HttpStatusCode.Created);
        async Task<HttpResponseMessage> RemoteAsync(RegistryClient client)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, client.Url("/metrics"));
            request.Headers.Authorization = client.Authorization;
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            return await client.SendAsync(request);
        }
        using (var anonymous = server.NewClient())
        using (var r = await RemoteAsync(anonymous))
        {
            await r.AssertErrorAsync(HttpStatusCode.Unauthorized, "UNAUTHORIZED");
            Assert.StartsWith("Basic", r.Headers.WwwAuthenticate.ToString());
        }
        using (var bob = server.As("metricsbob", "metricsbob-password"))
        using (var r = await RemoteAsync(bob))
        {
            await r.AssertErrorAsync(HttpStatusCode.Forbidden, "DENIED");
        }
        using (var r = await RemoteAsync(admin))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            PrometheusText.Parse(await r.Content.ReadAsStringAsync());
        }
        await ScrapeAsync(server.NewClient());
    }

    [Theory]
    [InlineData("/v2/", "v2")]
    [InlineData("/v2", "v2")]
    [InlineData("/v2/_catalog", "catalog")]
    [InlineData("/v2/a/b/tags/list", "tags")]
    [InlineData("/v2/a/b/manifests/latest", "manifest")]
    [InlineData("/v2/manifests/manifests/sha256:abc", "manifest")]
    [InlineData("/v2/a/blobs/sha256:abc", "blob")]
    [InlineData("/v2/a/blobs/uploads/", "upload")]
    [InlineData("/v2/a/blobs/uploads/0123", "upload")]
    [InlineData("/v2/a/referrers/sha256:abc", "referrers")]
    [InlineData("/v2/a/nothing/here", "v2_other")]
    [InlineData("/token", "token")]
    [InlineData("/api/v1/users", "management")]
    [InlineData("/v1/search", "search")]
    [InlineData("/readyz", "health")]
    [InlineData("/metrics", "metrics")]
    [InlineData("/anything/else", "other")]
    public void RoutesAreNamedFromAFixedList(string path, string route)
    {
        Assert.Equal(route, RouteNames.Of(path));
        Assert.Contains(route, Routes);
    }

    [Fact]
    public void JsonLinesCarryTheRequestAndTheMessageValues()
    {
        var format = new JsonLogFormat();
        var writer = new StringWriter();
        var state = new List<KeyValuePair<string, object?>>
        {
            new("Method", "GET"), new("Path", "/v2/team/app/manifests/sha256:abc"), new("Status", 404), new("ElapsedMs", 1.23456), new("{OriginalFormat}", "..."),
        };
        RequestContext.Current = new RequestContext("rid-7", "GET", "/v2/team/app/manifests/sha256:abc") { Actor = "alice" };
        try
        {
            format.Write(new LogEntry<List<KeyValuePair<string, object?>>>(LogLevel.Information, AccessLog.Category, new EventId(200), state, null,
                (_, _) => "GET /v2/team/app/manifests/sha256:abc 404 1.2ms 127.0.0.1"), null, writer);
        }
        finally
        {
            RequestContext.Current = null;
        }
        format.Write(new LogEntry<string>(LogLevel.Warning, "Berth.Test", new EventId(5), "outside", new InvalidOperationException("boom\nline two"), (s, e) => s),
            null, writer);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var j = first.RootElement;
        Assert.Equal(("access", "Information", 200, "rid-7", "team/app", "sha256:abc"),
            (j.GetProperty("category").GetString(), j.GetProperty("level").GetString(), j.GetProperty("event").GetInt32(),
             j.GetProperty("requestId").GetString(), j.GetProperty("repository").GetString(), j.GetProperty("reference").GetString()));
        Assert.Equal((404, "GET", 1.235), (j.GetProperty("status").GetInt32(), j.GetProperty("method").GetString(), j.GetProperty("elapsedMs").GetDouble()));
        using var second = JsonDocument.Parse(lines[1]);
        Assert.False(second.RootElement.TryGetProperty("requestId", out _));
        Assert.Contains("boom\nline two", second.RootElement.GetProperty("exception").GetString());
    }
}

/// <summary><c>metrics.listen</c> on a port of its own (a server of its own: it listens on two ports).</summary>
public sealed class SeparateMetricsTests
{
    [Fact]
    public async Task MetricsAreServedOnTheirOwnPortOnly()
    {
        var data = Directory.CreateTempSubdirectory("berth-metrics-").FullName;
        var port = FreePort();
        var app = await ServerHost.BuildAsync(new BerthOptions
        {
            Listen = "127.0.0.1:0",
            Data = data,
            LogLevel = LogLevel.Warning,
            Observability = new ObservabilityOptions { MetricsListen = $"127.0.0.1:{port}" },
        }, TimeProvider.System);
        await app.StartAsync();
        try
        {
            var main = new Uri(Assert.Single(app.Urls, u => new Uri(u).Port != port));
            using var client = new RegistryClient(main);
            using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using (var r = await client.GetAsync("/v2/"))
            {
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            }
            using (var r = await client.GetAsync("/metrics"))
            {
                await r.AssertErrorAsync(HttpStatusCode.NotFound, "NAME_UNKNOWN");
            }
            var parsed = PrometheusText.Parse(await metrics.GetStringAsync("/metrics"));
            Assert.True(parsed.Sum("berth_http_request_duration_seconds_count", ("route", "v2")) >= 1);
            using var other = await metrics.GetAsync("/v2/");
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
            Assert.False(other.Headers.Contains("Docker-Distribution-API-Version"));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
