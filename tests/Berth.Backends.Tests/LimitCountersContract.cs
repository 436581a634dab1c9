using Berth.Core.Access;
using Berth.Tests.Support;

namespace Berth.Backends.Tests;

/// <summary>
/// The <see cref="ILimitCounters"/> contract, through the policies built on it: the sign-in throttle and the pull
/// limiter, on a clock the test moves (the counters take every time from their caller).
/// </summary>
public abstract class LimitCountersContract : StoreContract
{
    private static readonly TimeSpan Lockout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Window = TimeSpan.FromHours(6);
    private readonly ManualTime _time = new();

    private LoginThrottle Throttle(int maxFailures = 3) => new(S.Counters, _time, maxFailures, Lockout);

    private PullLimiter Limiter => new(S.Counters, _time, Window);

    private async Task<TimeSpan?> LockedForAsync(LoginThrottle t, string account, string? address) => (await t.CheckAsync(account, address, Ct)).LockedFor;

    [Fact]
    public async Task EachFailureIsAnsweredMoreSlowlyUntilTheLockout()
    {
        var t = Throttle();
        Assert.Equal((null, false), await t.CheckAsync("ann", "10.0.0.1", Ct));
        Assert.Equal(TimeSpan.FromMilliseconds(100), await t.FailedAsync("ann", "10.0.0.1", Ct));
        Assert.Equal(TimeSpan.FromMilliseconds(200), await t.FailedAsync("ann", "10.0.0.1", Ct));
        Assert.Equal((null, true), await t.CheckAsync("ann", "10.0.0.1", Ct));
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        Assert.Equal(Lockout, await LockedForAsync(t, "ann", "10.0.0.1"));
    }

    [Fact]
    public async Task TheLockoutCountsDownAndEnds()
    {
        var t = Throttle();
        for (var i = 0; i < 3; i++) await t.FailedAsync("ann", "10.0.0.1", Ct);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(TimeSpan.FromMinutes(5), await LockedForAsync(t, "ann", "10.0.0.1"));
        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(1), await LockedForAsync(t, "ann", "10.0.0.1"));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(await LockedForAsync(t, "ann", "10.0.0.1"));
        // After a lockout the count starts again: one failure does not lock.
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        Assert.Null(await LockedForAsync(t, "ann", "10.0.0.1"));
    }

    [Fact]
    public async Task OnlyTheAccountAndAddressPairIsLockedOut()
    {
        var t = Throttle();
        for (var i = 0; i < 3; i++) await t.FailedAsync("ann", "10.0.0.1", Ct);
        Assert.NotNull(await LockedForAsync(t, "ann", "10.0.0.1"));
        Assert.Null(await LockedForAsync(t, "ann", "10.0.0.2"));
        Assert.Null(await LockedForAsync(t, "bob", "10.0.0.1"));
        Assert.Null(await LockedForAsync(t, "ann", null));
    }

    [Fact]
    public async Task ASuccessForgetsTheFailures()
    {
        var t = Throttle();
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        await t.SucceededAsync("ann", "10.0.0.1", Ct);
        Assert.Equal((null, false), await t.CheckAsync("ann", "10.0.0.1", Ct));
        Assert.Equal(TimeSpan.FromMilliseconds(100), await t.FailedAsync("ann", "10.0.0.1", Ct));
    }

    [Fact]
    public async Task FailuresOlderThanTheLockoutAreForgotten()
    {
        var t = Throttle();
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        _time.Advance(Lockout + TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), await t.FailedAsync("ann", "10.0.0.1", Ct));
        Assert.Null(await LockedForAsync(t, "ann", "10.0.0.1"));
        // Within the period they add up.
        _time.Advance(Lockout);
        Assert.Equal(TimeSpan.FromMilliseconds(200), await t.FailedAsync("ann", "10.0.0.1", Ct));
    }

    [Fact]
    public async Task TheSlowdownStopsGrowingAtTwoSeconds()
    {
        var t = Throttle(maxFailures: 100);
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 30; i++) delays.Add(await t.FailedAsync("ann", "10.0.0.1", Ct));
        Assert.Equal(TimeSpan.FromMilliseconds(1900), delays[18]);
        Assert.All(delays[19..], d => Assert.Equal(TimeSpan.FromSeconds(2), d));
    }

    [Fact]
    public async Task ConcurrentFailuresAreEachCounted()
    {
        var t = Throttle(maxFailures: 20);
        await Task.WhenAll(Enumerable.Range(0, 19).Select(_ => t.FailedAsync("ann", "10.0.0.1", Ct)));
        Assert.Null(await LockedForAsync(t, "ann", "10.0.0.1"));
        await t.FailedAsync("ann", "10.0.0.1", Ct);
        Assert.Equal(Lockout, await LockedForAsync(t, "ann", "10.0.0.1"));
    }

    [Fact]
    public async Task PullsCountDownWithinTheWindowThenAreRefused()
    {
        var l = Limiter;
        Assert.Equal((true, 2, Window), await l.AcquireAsync("10.0.0.1", 3, Ct));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal((true, 1, TimeSpan.FromHours(5)), await l.AcquireAsync("10.0.0.1", 3, Ct));
        Assert.Equal((true, 0, TimeSpan.FromHours(5)), await l.AcquireAsync("10.0.0.1", 3, Ct));
        _time.Advance(TimeSpan.FromHours(2));
        // Refused, with the time until the window that started at the first pull ends (Retry-After).
        Assert.Equal((false, 0, TimeSpan.FromHours(3)), await l.AcquireAsync("10.0.0.1", 3, Ct));
        Assert.Equal((false, 0, TimeSpan.FromHours(3)), await l.AcquireAsync("10.0.0.1", 3, Ct));
    }

    [Fact]
    public async Task ANewWindowStartsAtTheFirstPullAfterTheOldOneEnds()
    {
        var l = Limiter;
        for (var i = 0; i < 3; i++) await l.AcquireAsync("10.0.0.1", 3, Ct);
        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.False((await l.AcquireAsync("10.0.0.1", 3, Ct)).Allowed);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal((true, 2, Window), await l.AcquireAsync("10.0.0.1", 3, Ct));
        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal((true, 1, Window - TimeSpan.FromMinutes(30)), await l.AcquireAsync("10.0.0.1", 3, Ct));
    }

    [Fact]
    public async Task EachKeyHasItsOwnWindow()
    {
        var l = Limiter;
        for (var i = 0; i < 3; i++) await l.AcquireAsync("10.0.0.1", 3, Ct);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.False((await l.AcquireAsync("10.0.0.1", 3, Ct)).Allowed);
        Assert.Equal((true, 4, Window), await l.AcquireAsync("ann", 5, Ct));
    }

    [Fact]
    public async Task ConcurrentPullsNeverPassTheLimit()
    {
        var l = Limiter;
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => l.AcquireAsync("10.0.0.9", 25, Ct)));
        Assert.Equal(25, results.Count(r => r.Allowed));
        Assert.Equal(Enumerable.Range(0, 25).Reverse(), results.Where(r => r.Allowed).Select(r => r.Remaining).OrderDescending());
    }
}
