namespace Berth.Tests.Support;

/// <summary>
/// A clock that stands still until a test moves it. Timers and delays stay real (TimeProvider's own), so code that
/// waits through the clock (the sign-in slowdown) still returns; only what reads the time sees it move.
/// </summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _offsetTicks;

    public ManualTime() : this(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => start.AddTicks(Interlocked.Read(ref _offsetTicks));

    public override long GetTimestamp() => System.GetTimestamp() + Interlocked.Read(ref _offsetTicks) * TimestampFrequency / TimeSpan.TicksPerSecond;
}
