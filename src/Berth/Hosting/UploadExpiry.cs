using Berth.Configuration;
using Berth.Core.Registry;

namespace Berth.Hosting;

/// <summary>Removes upload sessions left idle for longer than the configured expiry, with their data.</summary>
internal sealed partial class UploadExpiry(UploadService uploads, BerthOptions options, TimeProvider time, ILogger<UploadExpiry> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(options.UploadExpiry.Ticks / 4, TimeSpan.FromSeconds(15).Ticks, TimeSpan.FromMinutes(10).Ticks));
        using var timer = new PeriodicTimer(period, time);
        try
        {
            await ExpireLoopAsync(timer, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task ExpireLoopAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                var removed = await uploads.ExpireAsync(options.UploadExpiry, stoppingToken);
                if (removed > 0) Expired(removed);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Failed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "removed {Count} expired upload sessions")]
    private partial void Expired(int count);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "expiring upload sessions failed")]
    private partial void Failed(Exception e);
}
