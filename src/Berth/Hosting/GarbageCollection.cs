using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Metadata;
using Berth.Core.Registry;

namespace Berth.Hosting;

/// <summary>
/// Garbage collection as the server, the API and the <c>gc</c> verb run it: the options from configuration and a request,
/// one run at a time across every process sharing the metadata (the job lock "gc"), and the last report kept in the
/// metadata so every node and the CLI see it. The algorithm is <see cref="GarbageCollector"/>.
/// </summary>
internal sealed partial class GarbageCollection(GarbageCollector collector, IGarbageIndex index, IJobLocks locks, BerthOptions options, ILogger<GarbageCollection> log,
    RegistryMetrics? metrics = null)
{
    public const string JobName = "gc";

    /// <summary>The configured options, overridden by a request's (dry run, grace, untagged policy).</summary>
    public GcOptions Options(bool dryRun = false, TimeSpan? grace = null, string? untagged = null)
    {
        var g = grace ?? options.Gc.Grace;
        return new GcOptions(g, GcSettings.UntaggedAge(untagged ?? options.Gc.Untagged, g), dryRun, options.UploadExpiry);
    }

    /// <summary>A run for the API and the CLI: refused with 409 while another process or request runs one.</summary>
    public async Task<GcReport> RunExclusiveAsync(GcOptions o, CancellationToken ct)
    {
        await using var hold = await locks.TryLockAsync(JobName, ct)
            ?? throw new RegistryException(ErrorCode.Conflict, "garbage collection is already running; try again when it is done");
        return await RunAsync(o, ct);
    }

    /// <summary>A run by a caller that holds the job lock (the scheduler).</summary>
    public async Task<GcReport> RunAsync(GcOptions o, CancellationToken ct)
    {
        try
        {
            var report = await collector.RunAsync(o, ct);
            await index.SaveReportAsync(JsonSerializer.Serialize(report, GcJson.Default.GcReport), report.Started.AddMilliseconds(report.DurationMs), ct);
            Ran(report.ToString());
            if (!o.DryRun) metrics?.GcCompleted(report.BytesFreed, report.BlobsRemoved + report.OrphanFilesRemoved);
            return report;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed(e);
            throw;
        }
    }

    /// <summary>The last run's report as JSON, or null when none ran.</summary>
    public Task<string?> LastAsync(CancellationToken ct) => index.LastReportAsync(ct);

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "garbage collection: {Report}")]
    private partial void Ran(string report);

    [LoggerMessage(EventId = 131, Level = LogLevel.Error, Message = "garbage collection failed")]
    private partial void Failed(Exception e);
}

/// <summary>The scheduled run (<c>gc.schedule</c>, a cron expression in UTC; <c>off</c> never runs it on its own).</summary>
internal sealed class GcJob(GarbageCollection gc, BerthOptions options) : ICalendarJob
{
    public string Name => GarbageCollection.JobName;

    public TimeSpan Period => TimeSpan.FromDays(1);

    public DateTimeOffset? NextRun(DateTimeOffset after) =>
        options.Gc.Schedule == "off" ? null : Cronos.CronExpression.Parse(options.Gc.Schedule).GetNextOccurrence(after, TimeZoneInfo.Utc);

    public async Task<string> RunAsync(CancellationToken ct) => (await gc.RunAsync(gc.Options(), ct)).ToString();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(GcReport))]
internal sealed partial class GcJson : JsonSerializerContext;
