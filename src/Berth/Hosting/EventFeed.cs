using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;

namespace Berth.Hosting;

/// <summary>
/// Reads the events outbox (<see cref="IEventLog"/>) from where it last stopped (the newest event at start: the caches
/// are empty then) whenever the backend signals new events (PostgreSQL's NOTIFY), and at least every <see cref="Period"/>,
/// and drops what this process cached about each change, so a change made by another process on the same database (a CLI
/// verb, another node) is served within a second at most rather than once <see cref="AccessControl.CacheTtl"/> runs out. This process's own changes come back too; dropping those again costs
/// one more database read, and keeps the feed free of any notion of who wrote what.
/// </summary>
internal sealed partial class EventFeed(IEventLog events, RegistryCache cache, AccessControl access, TimeProvider time, ILogger<EventFeed> log) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private const int Page = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var cursor = await events.LastIdAsync(stoppingToken);
            while (true)
            {
                try
                {
                    await events.WaitAsync(cursor, Period, stoppingToken);
                    cursor = await DrainAsync(cursor, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The cursor stays where it was: the same events are read again after a pause.
                    Failed(e);
                    await Task.Delay(Period, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task<long> DrainAsync(long cursor, CancellationToken ct)
    {
        IReadOnlyList<RegistryEvent> page;
        do
        {
            page = await events.ReadAfterAsync(cursor, Page, ct);
            foreach (var e in page)
            {
                Apply(e);
                cursor = e.Id;
            }
        }
        while (page.Count == Page);
        return cursor;
    }

    private void Apply(RegistryEvent e)
    {
        if (e.Repository is { } repository)
        {
            // Any write may have created the repository, whose visibility was cached as that of a missing one.
            access.Forget(repository);
            if (EventKinds.ChangesContent(e.Kind)) cache.Invalidate(repository);
        }
        if (e.Kind is EventKinds.AccountChange or EventKinds.GrantChange or EventKinds.TokenChange
            || (e.Kind == EventKinds.VisibilityChange && e.Repository is null))
        {
            access.Invalidate();
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Error, Message = "reading the events outbox failed")]
    private partial void Failed(Exception e);
}
