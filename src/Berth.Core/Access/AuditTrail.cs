namespace Berth.Core.Access;

/// <summary>Records what callers did, and shows it to site administrators.</summary>
public sealed class AuditTrail(IAuditLog log, AccessControl access, TimeProvider time)
{
    public Task RecordAsync(Caller actor, string action, string target, bool success, string? detail, CancellationToken ct) =>
        log.AppendAsync(new AuditEvent(0, time.GetUtcNow(), actor.Name ?? "anonymous", actor.Address, action, target, success, detail), ct);

    /// <summary>Records a change to accounts, rights or settings, after making <see cref="AccessControl"/> forget what it cached.</summary>
    public async Task ChangedAsync(Caller actor, string action, string target, string? detail, CancellationToken ct)
    {
        access.Invalidate();
        await RecordAsync(actor, action, target, true, detail, ct);
    }

    public async Task<IReadOnlyList<AuditEvent>> QueryAsync(Caller actor, AuditQuery query, CancellationToken ct)
    {
        AccountRules.RequireSiteAdmin(actor);
        return await log.QueryAsync(query, ct);
    }
}
