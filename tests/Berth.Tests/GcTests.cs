using System.Net;
using System.Text.Json;
using Berth.Core;
using Berth.Core.Storage;
using Berth.Hosting;
using Berth.Tests.Access;
using Berth.Tests.Support;

namespace Berth.Tests;

/// <summary><c>/api/v1/gc</c>: site administrators run garbage collection (dry or not) and read the last report; others are refused.</summary>
public sealed class GcApiTests(AuthServer server) : IClassFixture<AuthServer>
{
    [Fact]
    public async Task ADryRunCountsWhatWouldGoAndChangesNothingThenARunRemovesItAndIsTheLastReport()
    {
        using var admin = server.Admin();
        var kept = await admin.PushImageAsync("gcapi/app", "kept");
        var dropped = await admin.PushImageAsync("gcapi/app", "dropped");
        using (var r = await admin.DeleteAsync($"/v2/gcapi/app/manifests/{dropped.Digest}")) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);

        var dry = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "gc?dryRun=true&grace=0s&untagged=delete"))!.Value;
        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal(2, dry.GetProperty("linksRemoved").GetInt32());
        Assert.Equal(1, dry.GetProperty("blobsRemoved").GetInt32());
        Assert.Contains(dropped.Digest, dry.GetProperty("blobs").EnumerateArray().Select(b => b.GetString()));
        foreach (var blob in new[] { dropped.Config, dropped.Layer })
        {
            using var r = await admin.GetAsync($"/v2/gcapi/app/blobs/{blob.Digest}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        Assert.True(File.Exists(new StoragePaths(server.DataDirectory).Blob(Digest.Parse(dropped.Digest))));

        var run = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "gc?grace=0s&untagged=delete"))!.Value;
        Assert.False(run.GetProperty("dryRun").GetBoolean());
        // The manifest first, then its config and layer once their links went.
        Assert.Equal(3, run.GetProperty("blobsRemoved").GetInt32());
        Assert.Equal(dropped.Manifest.Length + dropped.Config.Size + dropped.Layer.Size, run.GetProperty("bytesFreed").GetInt64());
        foreach (var blob in new[] { dropped.Config, dropped.Layer })
        {
            using var r = await admin.GetAsync($"/v2/gcapi/app/blobs/{blob.Digest}");
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.False(File.Exists(new StoragePaths(server.DataDirectory).Blob(Digest.Parse(blob.Digest))));
        }
        using (var m = await admin.GetAsync("/v2/gcapi/app/manifests/kept", MediaType.OciManifest)) Assert.Equal(kept.Manifest, await m.BytesAsync());

        var last = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "gc"))!.Value;
        Assert.Equal(run.GetProperty("started").GetString(), last.GetProperty("started").GetString());
        Assert.Equal(3, last.GetProperty("blobsRemoved").GetInt32());
    }

    [Fact]
    public async Task BadParametersAreRefusedAndOnlyAdministratorsMayCollect()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "gc?grace=soon", expect: HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "gc?dryRun=maybe", expect: HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "gc?untagged=sometimes", expect: HttpStatusCode.BadRequest);
        await AuthServer.ApiAsync(admin, HttpMethod.Delete, "gc", expect: HttpStatusCode.MethodNotAllowed);
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"gcless","password":"gcless-password"}""", HttpStatusCode.Created);
        using var user = server.As("gcless", "gcless-password");
        await AuthServer.ApiAsync(user, HttpMethod.Post, "gc?dryRun=true", expect: HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(user, HttpMethod.Get, "gc", expect: HttpStatusCode.Forbidden);
        using var anonymous = server.NewClient();
        await AuthServer.ApiAsync(anonymous, HttpMethod.Post, "gc", expect: HttpStatusCode.Unauthorized);
    }
}

/// <summary><c>berth gc</c> on the data directory of a running server.</summary>
public sealed class GcCliTests(GcServer server) : IClassFixture<GcServer>
{
    private async Task<(int Code, JsonElement? Report, string Err)> GcAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new Cli(TextReader.Null, output, error, TimeProvider.System).RunAsync(["gc", "--data", server.DataDirectory, .. args]);
        return (code, code == 0 ? JsonDocument.Parse(output.ToString()).RootElement.Clone() : null, error.ToString());
    }

    [Fact]
    public async Task RemovesUntaggedManifestsAndOrphanFilesWhileTheServerRunsAndADryRunChangesNothing()
    {
        var client = server.Client;
        var kept = await client.PushImageAsync("gccli/app", "kept");
        var old = await client.PushImageAsync("gccli/app", "moving");
        await client.PushImageAsync("gccli/app", "moving");
        // A file no row records, as a crash between a manifest's file and its row leaves one.
        var orphan = Blob.Random(100);
        var paths = new StoragePaths(server.DataDirectory);
        var path = paths.Blob(Digest.Parse(orphan.Digest));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, orphan.Content);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddHours(-2));

        var (code, dry, err) = await GcAsync("--dry-run", "--grace", "1h", "--delete-untagged");
        Assert.True(code == 0, err);
        Assert.Equal(1, dry!.Value.GetProperty("orphanFilesRemoved").GetInt32());
        Assert.Equal(0, dry.Value.GetProperty("manifestsRemoved").GetInt32());
        Assert.True(File.Exists(path));

        (code, dry, err) = await GcAsync("--dry-run", "--grace", "0s", "--delete-untagged");
        Assert.True(code == 0, err);
        Assert.Equal(1, dry!.Value.GetProperty("manifestsRemoved").GetInt32());
        Assert.Contains($"gccli/app@{old.Digest}", dry.Value.GetProperty("manifests").EnumerateArray().Select(m => m.GetString()));
        using (var r = await client.GetAsync($"/v2/gccli/app/manifests/{old.Digest}", MediaType.OciManifest)) Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        var (runCode, run, runErr) = await GcAsync("--grace", "0s", "--delete-untagged");
        Assert.True(runCode == 0, runErr);
        Assert.Equal(1, run!.Value.GetProperty("manifestsRemoved").GetInt32());
        Assert.Equal(1, run.Value.GetProperty("orphanFilesRemoved").GetInt32());
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(paths.Blob(Digest.Parse(old.Digest))));
        // The server serves what is kept, and the removed manifest is gone (seen through the event feed within seconds).
        using (var r = await client.GetAsync("/v2/gccli/app/manifests/kept", MediaType.OciManifest)) Assert.Equal(kept.Manifest, await r.BytesAsync());
        using (var r = await client.GetAsync($"/v2/gccli/app/blobs/{old.Layer.Digest}")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);

        var (badCode, _, badErr) = await GcAsync("--grace", "soon");
        Assert.Equal(2, badCode);
        Assert.Contains("--grace", badErr);
    }
}

/// <summary>The <c>gc:</c> settings and the scheduler's calendar jobs (<c>gc.schedule</c> is a cron expression).</summary>
public sealed class GcScheduleTests
{
    private sealed class CronJob(string cron) : ICalendarJob
    {
        private int _runs;

        public string Name => "cron";

        public TimeSpan Period => TimeSpan.FromDays(1);

        public int Runs => Volatile.Read(ref _runs);

        public DateTimeOffset? NextRun(DateTimeOffset after) => Cronos.CronExpression.Parse(cron).GetNextOccurrence(after, TimeZoneInfo.Utc);

        public Task<string> RunAsync(CancellationToken ct) => Task.FromResult($"run {Interlocked.Increment(ref _runs)}");
    }

    private sealed class Locks : Core.Metadata.IJobLocks
    {
        private readonly Core.KeyedLocks _locks = new();

        public Task<IAsyncDisposable?> TryLockAsync(string job, CancellationToken ct) => Task.FromResult(_locks.TryAcquire(job));
    }

    [Fact]
    public async Task ACalendarJobRunsAtItsTimesAndNotAtStartUp()
    {
        var time = new SteppedTime(new DateTimeOffset(2025, 1, 1, 1, 0, 0, TimeSpan.Zero));
        var job = new CronJob("0 3 * * *");
        using var scheduler = new Scheduler([job], new Locks(), time, Microsoft.Extensions.Logging.Abstractions.NullLogger<Scheduler>.Instance);
        await scheduler.StartAsync(default);
        await Task.Delay(100);
        Assert.Equal(0, job.Runs);
        time.Advance(TimeSpan.FromMinutes(119));
        await Task.Delay(100);
        Assert.Equal(0, job.Runs);
        time.Advance(TimeSpan.FromMinutes(1));
        await Until(() => job.Runs == 1);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 3, 0, 0, TimeSpan.Zero), scheduler.Jobs().Single().LastStarted);
        time.Advance(TimeSpan.FromDays(1));
        await Until(() => job.Runs == 2);
        await scheduler.StopAsync(default);
    }

    private static async Task Until(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting");
            await Task.Delay(10);
        }
    }

    [Theory]
    [InlineData("gc:\n  schedule: every night\n", "gc.schedule")]
    [InlineData("gc:\n  grace: soon\n", "gc.grace")]
    [InlineData("gc:\n  untagged: sometimes\n", "gc.untagged")]
    public void BadGcSettingsAreRefusedNamingTheKey(string yaml, string key)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, yaml);
            var (_, errors) = Configuration.ConfigLoader.Load(path, _ => null);
            Assert.Contains(errors, e => e.Contains(key));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void GcSettingsAreReadAndTheUntaggedPolicyBecomesAnAge()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "gc:\n  schedule: \"*/15 * * * *\"\n  grace: 0s\n  untagged: 7d\n");
            var (options, errors) = Configuration.ConfigLoader.Load(path, _ => null);
            Assert.Empty(errors);
            Assert.Equal(("*/15 * * * *", TimeSpan.Zero, "7d"), (options!.Gc.Schedule, options.Gc.Grace, options.Gc.Untagged));
            Assert.Equal(TimeSpan.FromDays(7), Configuration.GcSettings.UntaggedAge("7d", TimeSpan.Zero));
            Assert.Equal(TimeSpan.FromHours(1), Configuration.GcSettings.UntaggedAge("delete", TimeSpan.FromHours(1)));
            Assert.Null(Configuration.GcSettings.UntaggedAge("keep", TimeSpan.FromHours(1)));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
