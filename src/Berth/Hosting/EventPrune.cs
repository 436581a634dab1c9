using Berth.Core.Metadata;

namespace Berth.Hosting;

/// <summary>
/// Removes events older than <see cref="Retention"/> from the outbox. Its consumers (the cache feed today, webhooks
/// and replication later) read within seconds of a change; a week covers a receiver that was down for days.
/// </summary>
internal sealed class EventPrune(IEventLog events, TimeProvider time) : IScheduledJob
{
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    public string Name => "events-prune";

    public TimeSpan Period => TimeSpan.FromHours(1);

    public async Task<string> RunAsync(CancellationToken ct)
    {
        var removed = await events.PruneBeforeAsync(time.GetUtcNow() - Retention, ct);
        return $"removed {removed} events older than {Retention.TotalDays:0} days";
    }
}
