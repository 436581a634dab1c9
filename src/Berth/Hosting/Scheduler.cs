using Berth.Core.Metadata;

namespace Berth.Hosting;

/// <summary>
/// Periodic work the <see cref="Scheduler"/> runs: upload expiry now; GC, retention, scrub and scans later, each one
/// more <c>services.AddSingleton&lt;IScheduledJob, T&gt;()</c> in <see cref="ServerHost"/>.
/// </summary>
internal interface IScheduledJob
{
    /// <summary>Unique, lowercase with dashes (<c>upload-expiry</c>): the name in <c>/api/v1/jobs</c>.</summary>
    string Name { get; }

    /// <summary>Time between the starts of two runs; the first run is at start-up.</summary>
    TimeSpan Period { get; }

    /// <summary>
    /// One run: returns a short outcome for admins ("removed 3 expired upload sessions"). A failure is thrown; its message
    /// is shown to site admins, so it must not carry secrets. The job logs what it did itself.
    /// </summary>
    Task<string> RunAsync(CancellationToken ct);
}

/// <summary>
/// A job on a calendar rather than a period (a cron expression): it runs at <see cref="NextRun"/>, not at start-up;
/// <see cref="IScheduledJob.Period"/> is only shown.
/// </summary>
internal interface ICalendarJob : IScheduledJob
{
    /// <summary>The next run after <paramref name="after"/>, or null for none (switched off).</summary>
    DateTimeOffset? NextRun(DateTimeOffset after);
}

/// <summary>The last run of a job as kept in memory, per process: lost at restart, and per node with several.</summary>
internal sealed record JobState(string Name, TimeSpan Period, DateTimeOffset? LastStarted, DateTimeOffset? LastFinished, string? LastOutcome, string? LastError, bool Running);

/// <summary>
/// Runs the registered <see cref="IScheduledJob"/>s, each on its own period, one job at a time across all of them (so
/// GC and a scrub never compete for the disk, and a job never overlaps itself), and records each one's last run. With
/// several nodes a job runs on one node at a time (<see cref="IJobLocks"/>); a node that finds it held skips the turn.
/// Waits go through the injected <see cref="TimeProvider"/>, so tests move time instead of sleeping.
/// </summary>
internal sealed partial class Scheduler : BackgroundService
{
    private readonly Dictionary<string, Entry> _jobs;
    private readonly TimeProvider _time;
    private readonly ILogger<Scheduler> _log;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private readonly IJobLocks _locks;

    public Scheduler(IEnumerable<IScheduledJob> jobs, IJobLocks locks, TimeProvider time, ILogger<Scheduler> log)
    {
        _locks = locks;
        _jobs = jobs.ToDictionary(j => j.Name, j => new Entry(j), StringComparer.Ordinal);
        _time = time;
        _log = log;
    }

    /// <summary>Every job's last run, by name.</summary>
    public IReadOnlyList<JobState> Jobs() => _jobs.Values.Select(e => e.State()).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();

    /// <summary>Runs a job now (after whatever job is running), or null for no such job; the answer is its state after the run.</summary>
    public async Task<JobState?> RunNowAsync(string name, CancellationToken ct)
    {
        if (!_jobs.TryGetValue(name, out var entry)) return null;
        await RunAsync(entry, ct);
        return entry.State();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_jobs.Values.Select(e => LoopAsync(e, stoppingToken)));

    private async Task LoopAsync(Entry entry, CancellationToken stoppingToken)
    {
        if (entry.Job is ICalendarJob calendar)
        {
            await CalendarLoopAsync(entry, calendar, stoppingToken);
            return;
        }
        using var timer = new PeriodicTimer(entry.Job.Period, _time);
        try
        {
            // Ticks missed while a run or another job holds the gate collapse into one: a slow job is not run back to back.
            do
            {
                await RunAsync(entry, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task CalendarLoopAsync(Entry entry, ICalendarJob job, CancellationToken stoppingToken)
    {
        try
        {
            while (job.NextRun(_time.GetUtcNow()) is { } next)
            {
                // In steps of a day at most: Task.Delay takes at most 49 days, and a year-long wait is a valid cron.
                for (var wait = next - _time.GetUtcNow(); wait > TimeSpan.Zero; wait = next - _time.GetUtcNow())
                {
                    await Task.Delay(wait < TimeSpan.FromDays(1) ? wait : TimeSpan.FromDays(1), _time, stoppingToken);
                }
                await RunAsync(entry, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task RunAsync(Entry entry, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        IAsyncDisposable? hold = null;
        try
        {
            // With several nodes, each job runs on one of them at a time: the others skip this turn.
            hold = await _locks.TryLockAsync(entry.Job.Name, ct);
            if (hold is null)
            {
                entry.Skipped(_time.GetUtcNow(), "skipped: another node is running it");
                return;
            }
            entry.Started(_time.GetUtcNow());
            try
            {
                var outcome = await entry.Job.RunAsync(ct);
                entry.Finished(_time.GetUtcNow(), outcome, null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                entry.Finished(_time.GetUtcNow(), null, "cancelled");
                throw;
            }
            catch (Exception e)
            {
                // The message only: a stack trace is for the log, not for the API.
                entry.Finished(_time.GetUtcNow(), null, Core.ErrorDetail.Clip(e.Message));
                Failed(entry.Job.Name, e.Message);
            }
        }
        finally
        {
            if (hold is not null) await hold.DisposeAsync();
            _gate.Release();
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _gate.Dispose();
    }

    // Debug: a job logs its own failures, with their detail; this line only ties one to the scheduler.
    [LoggerMessage(EventId = 120, Level = LogLevel.Debug, Message = "job {Job} failed: {Error}")]
    private partial void Failed(string job, string error);

    private sealed class Entry(IScheduledJob job)
    {
        private readonly Lock _lock = new();
        private DateTimeOffset? _started;
        private DateTimeOffset? _finished;
        private string? _outcome;
        private string? _error;
        private bool _running;

        public IScheduledJob Job => job;

        public void Started(DateTimeOffset at)
        {
            lock (_lock)
            {
                _started = at;
                _running = true;
            }
        }

        public void Finished(DateTimeOffset at, string? outcome, string? error)
        {
            lock (_lock)
            {
                _finished = at;
                _outcome = outcome;
                _error = error;
                _running = false;
            }
        }

        public void Skipped(DateTimeOffset at, string outcome)
        {
            lock (_lock)
            {
                _started = _finished = at;
                _outcome = outcome;
                _error = null;
            }
        }

        public JobState State()
        {
            lock (_lock) return new JobState(job.Name, job.Period, _started, _finished, _outcome, _error, _running);
        }
    }
}
