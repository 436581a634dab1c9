using System.Net;
using Berth.Hosting;
using Berth.Tests.Access;
using Berth.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Tests;

/// <summary>The scheduler on a clock that only the test moves: periods, failures, one job at a time.</summary>
public sealed class SchedulerTests
{
    private sealed class TestJob(string name, TimeSpan period, Func<int, Task<string>> run) : IScheduledJob
    {
        private int _runs;

        public string Name => name;

        public TimeSpan Period => period;

        public int Runs => Volatile.Read(ref _runs);

        public Task<string> RunAsync(CancellationToken ct) => run(Interlocked.Increment(ref _runs));
    }

    /// <summary>The job locks of one database, as every node on it sees them.</summary>
    private sealed class SharedLocks : Core.Metadata.IJobLocks
    {
        private readonly Core.KeyedLocks _locks = new();

        public Task<IAsyncDisposable?> TryLockAsync(string job, CancellationToken ct) => Task.FromResult(_locks.TryAcquire(job));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting");
            await Task.Delay(10);
        }
    }

    /// <summary>Advances in one step, then lets the released loop run.</summary>
    private static async Task Step(SteppedTime time, TimeSpan by)
    {
        time.Advance(by);
        await Task.Delay(50);
    }

    [Fact]
    public async Task AJobRunsAtStartAndThenOncePerPeriod()
    {
        var time = new SteppedTime();
        var job = new TestJob("count", TimeSpan.FromMinutes(5), n => Task.FromResult($"run {n}"));
        using var scheduler = new Scheduler([job], new SharedLocks(), time, NullLogger<Scheduler>.Instance);
        await scheduler.StartAsync(default);
        await Eventually(() => scheduler.Jobs().Single().LastFinished is not null);
        var state = scheduler.Jobs().Single();
        Assert.Equal(("count", TimeSpan.FromMinutes(5), "run 1", null, false), (state.Name, state.Period, state.LastOutcome, state.LastError, state.Running));
        Assert.Equal(time.GetUtcNow(), state.LastStarted);

        await Step(time, TimeSpan.FromMinutes(4));
        Assert.Equal(1, job.Runs);
        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually(() => scheduler.Jobs().Single().LastOutcome == "run 2");
        Assert.Equal(time.GetUtcNow(), scheduler.Jobs().Single().LastStarted);
        await scheduler.StopAsync(default);
    }

    [Fact]
    public async Task AFailureIsRecordedWithItsMessageAndTheNextRunStillComes()
    {
        var time = new SteppedTime();
        var job = new TestJob("flaky", TimeSpan.FromMinutes(1), n => n == 1 ? throw new InvalidOperationException("disk on fire") : Task.FromResult("fine"));
        using var scheduler = new Scheduler([job], new SharedLocks(), time, NullLogger<Scheduler>.Instance);
        await scheduler.StartAsync(default);
        await Eventually(() => scheduler.Jobs().Single().LastFinished is not null);
        Assert.Equal(("disk on fire", null), (scheduler.Jobs().Single().LastError, scheduler.Jobs().Single().LastOutcome));

        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually(() => job.Runs == 2 && !scheduler.Jobs().Single().Running);
        Assert.Equal(("fine", null), (scheduler.Jobs().Single().LastOutcome, scheduler.Jobs().Single().LastError));
        await scheduler.StopAsync(default);
    }

    [Fact]
    public async Task JobsRunOneAtATimeAndNeverOverlapThemselves()
    {
        var time = new SteppedTime();
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new TestJob("slow", TimeSpan.FromMinutes(1), _ => release.Task);
        var quick = new TestJob("quick", TimeSpan.FromMinutes(1), n => Task.FromResult($"quick {n}"));
        using var scheduler = new Scheduler([slow, quick], new SharedLocks(), time, NullLogger<Scheduler>.Instance);
        await scheduler.StartAsync(default);
        await Eventually(() => slow.Runs + quick.Runs > 0);
        // Whichever started first, the slow one runs in the end and holds every other run back.
        await Eventually(() => slow.Runs == 1);
        Assert.True(scheduler.Jobs().Single(j => j.Name == "slow").Running);
        var quickRuns = quick.Runs;

        for (var i = 0; i < 3; i++) await Step(time, TimeSpan.FromMinutes(1));
        var runNow = scheduler.RunNowAsync("quick", default);
        await Task.Delay(50);
        Assert.Equal((1, quickRuns), (slow.Runs, quick.Runs));
        Assert.False(runNow.IsCompleted);

        release.SetResult("done");
        Assert.NotNull(await runNow);
        await Eventually(() => !scheduler.Jobs().Any(j => j.Running));
        // Three missed ticks of the slow job collapse into at most one more run.
        Assert.InRange(slow.Runs, 1, 2);
        Assert.Equal("done", scheduler.Jobs().Single(j => j.Name == "slow").LastOutcome);
        await scheduler.StopAsync(default);
    }

    [Fact]
    public async Task RunNowAnswersTheOutcomeOrNullForNoSuchJob()
    {
        var job = new TestJob("count", TimeSpan.FromHours(1), n => Task.FromResult($"run {n}"));
        using var scheduler = new Scheduler([job], new SharedLocks(), new SteppedTime(), NullLogger<Scheduler>.Instance);
        Assert.Null(await scheduler.RunNowAsync("nope", default));
        Assert.Equal("run 1", (await scheduler.RunNowAsync("count", default))!.LastOutcome);
    }

    [Fact]
    public async Task AJobRunsOnOneNodeAtATimeTheOthersSkipTheirTurn()
    {
        var locks = new SharedLocks();
        var release = new TaskCompletionSource();
        var job = new TestJob("gc", TimeSpan.FromHours(1), async n =>
        {
            await release.Task;
            return $"run {n}";
        });
        using var nodeA = new Scheduler([job], locks, new SteppedTime(), NullLogger<Scheduler>.Instance);
        using var nodeB = new Scheduler([job], locks, new SteppedTime(), NullLogger<Scheduler>.Instance);
        var onA = nodeA.RunNowAsync("gc", default);
        await Eventually(() => job.Runs == 1);
        var onB = await nodeB.RunNowAsync("gc", default);
        Assert.Equal("skipped: another node is running it", onB!.LastOutcome);
        Assert.False(onB.Running);
        release.SetResult();
        Assert.Equal("run 1", (await onA)!.LastOutcome);
        // Released: the next turn runs wherever it comes up.
        Assert.Equal("run 2", (await nodeB.RunNowAsync("gc", default))!.LastOutcome);
    }

    [Theory]
    [InlineData(24 * 60, 10 * 60)]
    [InlineData(20, 5 * 60)]
    [InlineData(1, 15)]
    public void UploadExpiryRunsAtAQuarterOfTheExpiryWithinBounds(int expiryMinutes, int periodSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(periodSeconds), UploadExpiry.PeriodFor(TimeSpan.FromMinutes(expiryMinutes)));
}

/// <summary>GET /api/v1/jobs and POST /api/v1/jobs/NAME/run on a real server.</summary>
public sealed class JobsApiTests(AuthServer server) : IClassFixture<AuthServer>
{
    [Fact]
    public async Task ASiteAdminSeesUploadExpiryWithItsLastRunAndMayRunItNow()
    {
        using var admin = server.Admin();
        var until = DateTime.UtcNow.AddSeconds(10);
        System.Text.Json.JsonElement job;
        // The first run is at start-up, on the scheduler's own task.
        do
        {
            var jobs = (await AuthServer.ApiAsync(admin, HttpMethod.Get, "jobs"))!.Value;
            job = jobs.EnumerateArray().Single(j => j.GetProperty("name").GetString() == "upload-expiry");
            if (job.TryGetProperty("lastFinished", out _)) break;
            Assert.True(DateTime.UtcNow < until, "upload-expiry never ran");
            await Task.Delay(50);
        }
        while (true);
        Assert.Equal(600, job.GetProperty("period").GetInt64());
        Assert.Equal("removed 0 expired upload sessions", job.GetProperty("lastOutcome").GetString());
        Assert.False(job.TryGetProperty("lastError", out _));
        Assert.True(job.TryGetProperty("lastStarted", out _));

        var ran = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/upload-expiry/run"))!.Value;
        Assert.Equal("removed 0 expired upload sessions", ran.GetProperty("lastOutcome").GetString());
        Assert.False(ran.GetProperty("running").GetBoolean());
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/no-such-job/run", expect: HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OthersAreRefused()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"jobless","password":"jobless-password"}""", HttpStatusCode.Created);
        using var user = server.As("jobless", "jobless-password");
        await AuthServer.ApiAsync(user, HttpMethod.Get, "jobs", expect: HttpStatusCode.Forbidden);
        await AuthServer.ApiAsync(user, HttpMethod.Post, "jobs/upload-expiry/run", expect: HttpStatusCode.Forbidden);
        using var anonymous = server.NewClient();
        await AuthServer.ApiAsync(anonymous, HttpMethod.Get, "jobs", expect: HttpStatusCode.Unauthorized);
    }
}

/// <summary>A server whose clock the test moves, for jobs that act on age.</summary>
public sealed class MovedClockServer : AuthServer
{
    internal ManualTime Clock { get; } = new(DateTimeOffset.UtcNow);

    public override TimeProvider Time => Clock;
}

public sealed class EventPruneTests(MovedClockServer server) : IClassFixture<MovedClockServer>
{
    [Fact]
    public async Task EventsOlderThanAWeekAreRemovedAndNewerOnesKept()
    {
        using var admin = server.Admin();
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"old-change","password":"old-change-password"}""", HttpStatusCode.Created);
        server.Clock.Advance(EventPrune.Retention + TimeSpan.FromDays(1));
        await AuthServer.ApiAsync(admin, HttpMethod.Post, "users", """{"name":"new-change","password":"new-change-password"}""", HttpStatusCode.Created);

        var first = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/events-prune/run"))!.Value.GetProperty("lastOutcome").GetString()!;
        var removed = int.Parse(first.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(removed >= 1, first);
        // The change made after the clock moved is a day old at most: it stays, so a second run finds nothing to remove.
        var second = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/events-prune/run"))!.Value.GetProperty("lastOutcome").GetString();
        Assert.Equal("removed 0 events older than 7 days", second);
        // A week on, that change is old too: it was kept, not lost with the first run.
        server.Clock.Advance(EventPrune.Retention + TimeSpan.FromMinutes(1));
        var third = (await AuthServer.ApiAsync(admin, HttpMethod.Post, "jobs/events-prune/run"))!.Value.GetProperty("lastOutcome").GetString()!;
        Assert.NotEqual("removed 0 events older than 7 days", third);
    }
}
