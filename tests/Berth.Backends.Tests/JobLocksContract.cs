namespace Berth.Backends.Tests;

/// <summary>The <see cref="Core.Metadata.IJobLocks"/> contract: one holder per job name, the others refused at once.</summary>
public abstract class JobLocksContract : StoreContract
{
    [Fact]
    public async Task AHeldJobIsRefusedAtOnceUntilReleased()
    {
        var gc = await S.JobLocks.TryLockAsync("gc", Ct);
        Assert.NotNull(gc);
        Assert.Null(await S.JobLocks.TryLockAsync("gc", Ct).WaitAsync(TimeSpan.FromSeconds(10)));
        var other = await S.JobLocks.TryLockAsync("scrub", Ct);
        Assert.NotNull(other);
        await gc.DisposeAsync();
        var again = await S.JobLocks.TryLockAsync("gc", Ct);
        Assert.NotNull(again);
        await again.DisposeAsync();
        await other.DisposeAsync();
    }
}
