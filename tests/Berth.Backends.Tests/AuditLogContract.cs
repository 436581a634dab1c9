using Berth.Core.Access;

namespace Berth.Backends.Tests;

/// <summary>The <see cref="IAuditLog"/> contract.</summary>
public abstract class AuditLogContract : StoreContract
{
    private Task AppendAsync(string actor, string action, string target, DateTimeOffset time) =>
        S.Audit.AppendAsync(new AuditEvent(0, time, actor, "192.0.2.1", action, target, true, null), Ct);

    [Fact]
    public async Task EventsComeBackNewestFirstAndFiltered()
    {
        await AppendAsync("alice", "login", "alice", Now.AddHours(-2));
        await AppendAsync("bob", "push", "team/app:1.0", Now.AddHours(-1));
        await AppendAsync("alice", "push", "team/app:2.0", Now);

        var all = await S.Audit.QueryAsync(new AuditQuery(), Ct);
        Assert.Equal(["team/app:2.0", "team/app:1.0", "alice"], all.Select(e => e.Target));
        Assert.True(all[0].Id > all[1].Id && all[1].Id > all[2].Id);
        Assert.Equal(("alice", "192.0.2.1", true), (all[0].Actor, all[0].Address, all[0].Success));

        Assert.Equal(2, (await S.Audit.QueryAsync(new AuditQuery(Actor: "alice"), Ct)).Count);
        Assert.Equal(["bob"], (await S.Audit.QueryAsync(new AuditQuery(Action: "push", Target: "team/app:1.0"), Ct)).Select(e => e.Actor));
        Assert.Equal(2, (await S.Audit.QueryAsync(new AuditQuery(Since: Now.AddMinutes(-90)), Ct)).Count);
        Assert.Equal(["team/app:1.0", "alice"], (await S.Audit.QueryAsync(new AuditQuery(BeforeId: all[0].Id), Ct)).Select(e => e.Target));
        Assert.Single(await S.Audit.QueryAsync(new AuditQuery(Limit: 1), Ct));
        Assert.Single(await S.Audit.QueryAsync(new AuditQuery(Limit: 0), Ct));
    }
}
