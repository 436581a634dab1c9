using Berth.Core.Metadata;

namespace Berth.Hosting;

/// <summary>Removes delivered and failed webhook deliveries after the events' retention; pending ones stay until they end.</summary>
internal sealed class WebhookPrune(IWebhooks hooks, TimeProvider time) : IScheduledJob
{
    public string Name => "webhook-prune";

    public TimeSpan Period => TimeSpan.FromHours(1);

    public async Task<string> RunAsync(CancellationToken ct)
    {
        var removed = await hooks.PruneDeliveriesAsync(time.GetUtcNow() - EventPrune.Retention, ct);
        return $"removed {removed} finished deliveries older than {EventPrune.Retention.TotalDays:0} days";
    }
}
