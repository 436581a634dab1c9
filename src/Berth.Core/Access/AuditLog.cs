namespace Berth.Core.Access;

public sealed record AuditEvent(long Id, DateTimeOffset Time, string Actor, string? Address, string Action, string Target, bool Success, string? Detail);

/// <param name="Limit">Clamped to 1..1000.</param>
public sealed record AuditQuery(string? Actor = null, string? Action = null, string? Target = null, DateTimeOffset? Since = null, long? BeforeId = null, int Limit = 100);

/// <summary>
/// The audit log: appended to, never changed. Contract for every backend: each event gets an id larger than every
/// earlier one (the given <see cref="AuditEvent.Id"/> is ignored); a query answers newest first.
/// </summary>
public interface IAuditLog
{
    Task AppendAsync(AuditEvent e, CancellationToken ct);

    Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken ct);
}
