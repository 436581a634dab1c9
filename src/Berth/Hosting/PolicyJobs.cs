using Berth.Api;
using Berth.Configuration;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Policies;
using Berth.Core.Registry;
using Berth.Core.Storage;

namespace Berth.Hosting;

/// <summary>The services of policies and integrity (docs/architecture.md, "Policies"), wired by one line in <see cref="ServerHost"/>.</summary>
internal static class PolicyWiring
{
    public static IServiceCollection AddPolicies(this IServiceCollection services, Backends backends)
    {
        services.AddSingleton(backends.Policies);
        services.AddSingleton(backends.TagStatistics);
        services.AddSingleton(backends.Integrity);
        services.AddSingleton(sp => new PullStatistics(backends.TagStatistics, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<QuotaService>();
        services.AddSingleton<PolicyService>();
        services.AddSingleton<RetentionService>();
        services.AddSingleton<Quarantine>();
        services.AddSingleton<ScrubService>();
        services.AddSingleton<PolicyApi>();
        services.AddSingleton<IScheduledJob, RetentionJob>();
        services.AddSingleton<IScheduledJob, ScrubJob>();
        services.AddHostedService<PullStatisticsFlusher>();
        return services;
    }
}

/// <summary>
/// Writes this node's pull counts every <see cref="Interval"/> in one transaction, and once more at shutdown, so the manifest
/// GET path never writes.
/// </summary>
internal sealed partial class PullStatisticsFlusher(PullStatistics pulls, TimeProvider time, ILogger<PullStatisticsFlusher> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        // Shutdown: what was counted since the last tick.
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await FlushAsync(last.Token);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        try
        {
            await pulls.FlushAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            Failed(e);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "writing pull statistics failed; kept for the next flush")]
    private partial void Failed(Exception e);
}

/// <summary>Applies every retention policy (<see cref="RetentionService"/>), deleting tags only.</summary>
internal sealed partial class RetentionJob(RetentionService retention, BerthOptions options, ILogger<RetentionJob> log) : IScheduledJob
{
    public string Name => "retention";

    public TimeSpan Period => options.RetentionInterval;

    public async Task<string> RunAsync(CancellationToken ct)
    {
        var report = await retention.RunAsync(null, dryRun: false, ct);
        foreach (var r in report.Removed) Removed(r.Repository, r.Tag, r.Reason);
        return $"removed {report.Removed.Count} tags, kept {report.TagsKept}, in {report.Repositories} repositories" + (report.Errors.Count > 0 ? $"; {report.Errors.Count} refused" : "");
    }

    [LoggerMessage(EventId = 141, Level = LogLevel.Information, Message = "retention removed {Repository}:{Tag} ({Reason})")]
    private partial void Removed(string repository, string tag, string reason);
}

/// <summary>
/// The scheduled scrub: every <see cref="BerthOptions.ScrubInterval"/>, but not at start-up (a restart must not re-read
/// every blob); <c>POST /api/v1/scrub</c> and <c>berth scrub</c> run one now.
/// </summary>
internal sealed partial class ScrubJob(ScrubService scrub, BerthOptions options, ILogger<ScrubJob> log) : IScheduledJob
{
    private int _ticks;

    public string Name => "scrub";

    public TimeSpan Period => options.ScrubInterval;

    public async Task<string> RunAsync(CancellationToken ct)
    {
        if (Interlocked.Increment(ref _ticks) == 1) return "not at start-up: the first scrub runs one period after it";
        var report = await scrub.RunAsync(options.ScrubParallelism, ct);
        foreach (var d in report.Damaged) Damaged(d.Digest, d.Problem);
        return ScrubOutcome(report);
    }

    public static string ScrubOutcome(ScrubReport r) =>
        $"checked {r.Blobs} blobs ({r.Bytes} bytes) in {r.Seconds:0.#} s: {r.Damaged.Count} damaged and quarantined, {r.Dangling.Count} dangling references, {r.Released} released";

    [LoggerMessage(EventId = 142, Level = LogLevel.Error, Message = "scrub: {Digest} is damaged ({Problem}); quarantined")]
    private partial void Damaged(string digest, string problem);
}
