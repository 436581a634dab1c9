using Berth.Core.Access;
using Berth.Tests.Support;

namespace Berth.Core.Tests.Access;

/// <summary>The sign-in throttle and the pull limiter on a clock the test moves: windows, lockout, reset, Retry-After.</summary>
public sealed class LoginThrottleTests
{
    private static readonly TimeSpan Lockout = TimeSpan.FromMinutes(15);
    private readonly ManualTime _time = new();
    private readonly LoginThrottle _throttle;

    public LoginThrottleTests() => _throttle = new LoginThrottle(_time, maxFailures: 3, Lockout);

    [Fact]
    public void EachFailureIsAnsweredMoreSlowlyUntilTheLockout()
    {
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.1"));
        Assert.Equal(TimeSpan.FromMilliseconds(100), _throttle.Failed("ann", "10.0.0.1"));
        Assert.Equal(TimeSpan.FromMilliseconds(200), _throttle.Failed("ann", "10.0.0.1"));
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.1"));
        _throttle.Failed("ann", "10.0.0.1");
        Assert.Equal(Lockout, _throttle.LockedFor("ann", "10.0.0.1"));
    }

    [Fact]
    public void TheLockoutCountsDownAndEnds()
    {
        for (var i = 0; i < 3; i++) _throttle.Failed("ann", "10.0.0.1");
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TimeSpan.FromMinutes(5), _throttle.LockedFor("ann", "10.0.0.1"));
        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        Assert.Equal(TimeSpan.FromTicks(1), _throttle.LockedFor("ann", "10.0.0.1"));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.1"));
        // After a lockout the count starts again: one failure does not lock.
        _throttle.Failed("ann", "10.0.0.1");
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.1"));
    }

    [Fact]
    public void OnlyTheAccountAndAddressPairIsLockedOut()
    {
        for (var i = 0; i < 3; i++) _throttle.Failed("ann", "10.0.0.1");
        Assert.NotNull(_throttle.LockedFor("ann", "10.0.0.1"));
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.2"));
        Assert.Null(_throttle.LockedFor("bob", "10.0.0.1"));
        Assert.Null(_throttle.LockedFor("ann", null));
    }

    [Fact]
    public void ASuccessForgetsTheFailures()
    {
        _throttle.Failed("ann", "10.0.0.1");
        _throttle.Failed("ann", "10.0.0.1");
        _throttle.Succeeded("ann", "10.0.0.1");
        Assert.Equal(TimeSpan.FromMilliseconds(100), _throttle.Failed("ann", "10.0.0.1"));
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.1"));
    }

    [Fact]
    public void FailuresOlderThanTheLockoutAreForgotten()
    {
        _throttle.Failed("ann", "10.0.0.1");
        _throttle.Failed("ann", "10.0.0.1");
        _time.Advance(Lockout + TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), _throttle.Failed("ann", "10.0.0.1"));
        Assert.Null(_throttle.LockedFor("ann", "10.0.0.1"));
        // Within the period they add up.
        _time.Advance(Lockout);
        Assert.Equal(TimeSpan.FromMilliseconds(200), _throttle.Failed("ann", "10.0.0.1"));
    }

    [Fact]
    public void TheSlowdownStopsGrowingAtTwoSeconds()
    {
        var throttle = new LoginThrottle(_time, maxFailures: 100, Lockout);
        var delays = Enumerable.Range(0, 30).Select(_ => throttle.Failed("ann", "10.0.0.1")).ToList();
        Assert.Equal(TimeSpan.FromMilliseconds(1900), delays[18]);
        Assert.All(delays[19..], d => Assert.Equal(TimeSpan.FromSeconds(2), d));
    }
}

public sealed class PullLimiterTests
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(6);
    private readonly ManualTime _time = new();
    private readonly PullLimiter _limiter;

    public PullLimiterTests() => _limiter = new PullLimiter(_time, Window);

    [Fact]
    public void PullsCountDownWithinTheWindowThenAreRefused()
    {
        Assert.Equal((true, 2, Window), _limiter.Acquire("10.0.0.1", 3));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal((true, 1, TimeSpan.FromHours(5)), _limiter.Acquire("10.0.0.1", 3));
        Assert.Equal((true, 0, TimeSpan.FromHours(5)), _limiter.Acquire("10.0.0.1", 3));
        _time.Advance(TimeSpan.FromHours(2));
        // Refused, with the time until the window that started at the first pull ends (Retry-After).
        Assert.Equal((false, 0, TimeSpan.FromHours(3)), _limiter.Acquire("10.0.0.1", 3));
        Assert.Equal((false, 0, TimeSpan.FromHours(3)), _limiter.Acquire("10.0.0.1", 3));
    }

    [Fact]
    public void ANewWindowStartsAtTheFirstPullAfterTheOldOneEnds()
    {
        for (var i = 0; i < 3; i++) _limiter.Acquire("10.0.0.1", 3);
        _time.Advance(Window - TimeSpan.FromTicks(1));
        Assert.False(_limiter.Acquire("10.0.0.1", 3).Allowed);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal((true, 2, Window), _limiter.Acquire("10.0.0.1", 3));
        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal((true, 1, Window - TimeSpan.FromMinutes(30)), _limiter.Acquire("10.0.0.1", 3));
    }

    [Fact]
    public void EachKeyHasItsOwnWindow()
    {
        for (var i = 0; i < 3; i++) _limiter.Acquire("10.0.0.1", 3);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.False(_limiter.Acquire("10.0.0.1", 3).Allowed);
        Assert.Equal((true, 4, Window), _limiter.Acquire("ann", 5));
        Assert.Equal(Window, _limiter.WindowLength);
    }
}
