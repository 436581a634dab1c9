namespace Berth.Core.Metadata;

/// <summary>
/// A webhook: changes of the subscribed <see cref="Events"/> (<see cref="WebhookEvents"/>' names) to repositories of
/// <see cref="Namespace"/> (every namespace when null: a site-wide hook) whose name matches <see cref="Repositories"/>
/// (<see cref="WebhookEvents.Matches"/>; empty for all) are sent to <see cref="Url"/>, signed with <see cref="Secret"/>.
/// <see cref="Configured"/> hooks are site-wide ones declared in the server's configuration, not through the API.
/// </summary>
public sealed record Webhook(long Id, string? Namespace, string Url, string Secret, IReadOnlyList<string> Events, string Repositories, DateTimeOffset Created,
    bool Configured = false);

/// <summary>The states of a <see cref="WebhookDelivery"/>.</summary>
public static class DeliveryStates
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

/// <summary>
/// One event sent (or to be sent) to one hook: the envelope <see cref="Payload"/> as it goes on the wire, its state, how
/// many attempts were made, when the next is due (pending only), and the last answer or error.
/// </summary>
public sealed record WebhookDelivery(long Id, long Hook, long Event, string Kind, string Payload, string State, int Attempts, DateTimeOffset? NextAttempt,
    int? LastStatus, string? LastError, DateTimeOffset Created, DateTimeOffset Updated);

/// <summary>A delivery to add: <see cref="Event"/> is the outbox id, so adding it twice keeps one row.</summary>
public sealed record NewDelivery(long Hook, long Event, string Kind, string Payload);

/// <summary>
/// Webhooks and their deliveries. Contract for every backend:
/// <list type="bullet">
/// <item>Ids are assigned by the store and never reused.</item>
/// <item><see cref="EnqueueAsync"/> is one transaction: its deliveries are added (a (hook, event) pair already present
/// is left as it is) and the cursor set together, so a crash either keeps both or neither.</item>
/// <item>Deleting a hook deletes its deliveries.</item>
/// <item>Lookups of something absent return null or false, never throw.</item>
/// </list>
/// </summary>
public interface IWebhooks
{
    /// <summary>Stores <paramref name="hook"/> (its id ignored) and returns it with its id.</summary>
    Task<Webhook> CreateAsync(Webhook hook, CancellationToken ct);

    Task<Webhook?> GetAsync(long id, CancellationToken ct);

    /// <summary>Every hook of <paramref name="ns"/>, or every hook of the site and of all namespaces when null, by id.</summary>
    Task<IReadOnlyList<Webhook>> ListAsync(string? ns, CancellationToken ct);

    /// <summary>Deletes the hook and its deliveries; false when absent.</summary>
    Task<bool> DeleteAsync(long id, CancellationToken ct);

    /// <summary>The outbox id up to which events were fanned out into deliveries, or null before the first fan-out.</summary>
    Task<long?> CursorAsync(CancellationToken ct);

    /// <summary>Adds <paramref name="deliveries"/> as pending and due at <paramref name="now"/>, and sets the cursor to <paramref name="cursor"/>.</summary>
    Task EnqueueAsync(IReadOnlyList<NewDelivery> deliveries, long cursor, DateTimeOffset now, CancellationToken ct);

    /// <summary>Up to <paramref name="limit"/> pending deliveries due at <paramref name="now"/>, the earliest due first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct);

    /// <summary>Records an attempt: one more attempt, the new state, the answer's status or the error, and when the next is due (pending only).</summary>
    Task RecordAttemptAsync(long delivery, string state, int? status, string? error, DateTimeOffset? nextAttempt, DateTimeOffset now, CancellationToken ct);

    /// <summary>The hook's newest deliveries first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(long hook, int limit, CancellationToken ct);

    /// <summary>Removes delivered and failed deliveries last updated before <paramref name="before"/>; returns how many.</summary>
    Task<int> PruneDeliveriesAsync(DateTimeOffset before, CancellationToken ct);
}
