using Berth.Configuration;
using Berth.Core.Registry;

namespace Berth.Hosting;

/// <summary>Removes upload sessions left idle for longer than the configured expiry, with their data.</summary>
internal sealed partial class UploadExpiry(UploadService uploads, BerthOptions options, ILogger<UploadExpiry> log) : IScheduledJob
{
    public string Name => "upload-expiry";

    public TimeSpan Period => PeriodFor(options.UploadExpiry);

    /// <summary>A quarter of the expiry, so a session outlives it by at most a quarter; within 15 s..10 min.</summary>
    public static TimeSpan PeriodFor(TimeSpan expiry) =>
        TimeSpan.FromTicks(Math.Clamp(expiry.Ticks / 4, TimeSpan.FromSeconds(15).Ticks, TimeSpan.FromMinutes(10).Ticks));

    public async Task<string> RunAsync(CancellationToken ct)
    {
        try
        {
            var removed = await uploads.ExpireAsync(options.UploadExpiry, ct);
            if (removed > 0) Expired(removed);
            return $"removed {removed} expired upload sessions";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed(e);
            throw;
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "removed {Count} expired upload sessions")]
    private partial void Expired(int count);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "expiring upload sessions failed")]
    private partial void Failed(Exception e);
}
