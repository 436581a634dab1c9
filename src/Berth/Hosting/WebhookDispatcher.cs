using System.Net.Http.Headers;
using System.Text;
using Berth.Configuration;
using Berth.Core.Metadata;
using Berth.Core.Webhooks;

namespace Berth.Hosting;

/// <summary>
/// Delivers webhooks from the events outbox. Each pass, under the <c>webhooks</c> job lock (one node of a cluster at a time):
/// <list type="number">
/// <item>Fan-out: the events after the cursor kept in metadata (<see cref="IWebhooks.CursorAsync"/>; at the first start
/// the newest event, so history is not replayed) become one pending delivery per matching hook, each holding its envelope,
/// stored together with the new cursor in one transaction. A crash before that commit reads the same events again; the
/// (hook, event) key keeps one delivery of each.</item>
/// <item>Delivery: up to <see cref="Batch"/> due deliveries are POSTed, <see cref="Parallel"/> at a time. A 2xx answer
/// marks one delivered; anything else (a status, a refused connection, a timeout) schedules the next attempt after a wait
/// that doubles from 1 s up to <c>webhooks.maxBackoff</c>, until <c>webhooks.maxAttempts</c>, when it is failed.</item>
/// </list>
/// Everything waiting lives in the database, never in memory, so a receiver that is down for days costs rows, not RAM
/// (pruned with the events after <see cref="EventPrune.Retention"/>). A delivery sent but not recorded (a crash in between)
/// is sent again: at least once, with the same event id. Requests go only to the hook's URL: no redirects followed, no
/// proxy from the environment; the log names the hook id and the receiver's host, never the secret or the URL's query.
/// </summary>
internal sealed partial class WebhookDispatcher(IEventLog events, IWebhooks hooks, IManifestIndex manifests, IJobLocks locks, RegistryMetrics metrics,
    BerthOptions options, TimeProvider time, ILogger<WebhookDispatcher> log) : BackgroundService
{
    public const string JobName = "webhooks";
    public const int Batch = 32;
    public const int Parallel = 4;
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private const int Page = 500;
    private const int MaxErrorLength = 300;

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    })
    { Timeout = RequestTimeout };

    /// <summary>
    /// A new installation's cursor is set before the server takes requests (hosted services start before Kestrel), so the
    /// events of the first requests are delivered, however late the first pass comes.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await hooks.CursorAsync(cancellationToken) is null) await StartCursorAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seen = 0L;
        try
        {
            while (true)
            {
                try
                {
                    await events.WaitAsync(seen, Period, stoppingToken);
                    if (await PassAsync(stoppingToken) is { } reached) seen = reached;
                    // Another node delivers: its events would wake this one at once (the cursor here stays behind), so it
                    // only looks again a period later.
                    else await Task.Delay(Period, time, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Failed(e);
                    await Task.Delay(Period, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>One fan-out and one round of deliveries, if this node holds the lock; returns the cursor reached (null without the lock).</summary>
    public async Task<long?> PassAsync(CancellationToken ct)
    {
        var hold = await locks.TryLockAsync(JobName, ct);
        if (hold is null) return null;
        await using (hold)
        {
            if (!_synced)
            {
                await SyncConfiguredAsync(ct);
                _synced = true;
            }
            var cursor = await FanOutAsync(ct);
            await DeliverDueAsync(ct);
            return cursor;
        }
    }

    private bool _synced;

    /// <summary>
    /// Makes the stored configured hooks those of <c>webhooks</c> in the configuration, once per process at its first pass:
    /// a declared hook with no stored twin (same URL, secret, events and pattern) is added, a stored one no longer declared
    /// is removed with its deliveries. With several nodes the last one to start with a different list wins.
    /// </summary>
    private async Task SyncConfiguredAsync(CancellationToken ct)
    {
        var declared = new List<Webhook>();
        foreach (var c in options.Observability.Webhooks)
        {
            try
            {
                var url = WebhookAdministration.ValidateUrl(c.Url).AbsoluteUri;
                if (c.Secret.Length is < 16 or > 256) throw new Core.RegistryException(Core.ErrorCode.InvalidRequest, "a secret needs 16 to 256 characters");
                if (c.Events.Count == 0 || c.Events.Any(e => !WebhookEvents.Names.Contains(e))) throw new Core.RegistryException(Core.ErrorCode.InvalidRequest, $"events are some of {string.Join(", ", WebhookEvents.Names)}");
                declared.Add(new Webhook(0, null, url, c.Secret, c.Events.Distinct().ToList(), c.Repositories, time.GetUtcNow(), Configured: true));
            }
            catch (Core.RegistryException e)
            {
                ConfiguredRefused(Host(c.Url), e.Message);
            }
        }
        static string Identity(Webhook h) => $"{h.Url}\n{h.Secret}\n{string.Join(',', h.Events.Order(StringComparer.Ordinal))}\n{h.Repositories}";
        var stored = (await hooks.ListAsync(null, ct)).Where(h => h.Configured).ToList();
        var wanted = declared.Select(Identity).ToHashSet();
        foreach (var h in stored.Where(h => !wanted.Contains(Identity(h)))) await hooks.DeleteAsync(h.Id, ct);
        var kept = stored.Select(Identity).ToHashSet();
        foreach (var h in declared.Where(h => kept.Add(Identity(h)))) await hooks.CreateAsync(h, ct);
    }

    private async Task<long> FanOutAsync(CancellationToken ct)
    {
        var cursor = await hooks.CursorAsync(ct) ?? await StartCursorAsync(ct);
        IReadOnlyList<RegistryEvent> page;
        do
        {
            page = await events.ReadAfterAsync(cursor, Page, ct);
            if (page.Count == 0) break;
            var all = await hooks.ListAsync(null, ct);
            var deliveries = new List<NewDelivery>();
            foreach (var e in page)
            {
                if (all.Count == 0 || e.Repository is not { } repository || WebhookEvents.SubscriptionOf(e.Kind) is not { } subscription) continue;
                var ns = repository.IndexOf('/') is var slash and > 0 ? repository[..slash] : null;
                string? payload = null;
                foreach (var hook in all)
                {
                    if (!hook.Events.Contains(subscription) || (hook.Namespace is not null && hook.Namespace != ns) || !WebhookEvents.Matches(hook.Repositories, repository)) continue;
                    payload ??= WebhookEnvelope.Build(e, await DescribeAsync(e, ct), options.PublicUrl);
                    deliveries.Add(new NewDelivery(hook.Id, e.Id, e.Kind, payload));
                }
            }
            cursor = page[^1].Id;
            await hooks.EnqueueAsync(deliveries, cursor, time.GetUtcNow(), ct);
        }
        while (page.Count == Page);
        return cursor;
    }

    // First pass on this database: deliveries start with the events written from now on.
    private async Task<long> StartCursorAsync(CancellationToken ct)
    {
        var last = await events.LastIdAsync(ct);
        await hooks.EnqueueAsync([], last, time.GetUtcNow(), ct);
        return last;
    }

    private async Task<ManifestInfo?> DescribeAsync(RegistryEvent e, CancellationToken ct) =>
        e.Kind is EventKinds.ManifestPut or EventKinds.Pull && e.Repository is { } r && e.Digest is { } d && Core.Digest.TryParse(d, out var digest)
            ? await manifests.GetManifestAsync(r, digest, ct)
            : null;

    private async Task DeliverDueAsync(CancellationToken ct)
    {
        var due = await hooks.DueAsync(time.GetUtcNow(), Batch, ct);
        if (due.Count == 0) return;
        var byId = new Dictionary<long, Webhook?>();
        foreach (var id in due.Select(d => d.Hook).Distinct()) byId[id] = await hooks.GetAsync(id, ct);
        await System.Threading.Tasks.Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = Parallel, CancellationToken = ct }, async (d, token) =>
        {
            if (byId[d.Hook] is not { } hook) return; // deleted meanwhile, with its deliveries
            var (status, error) = await SendAsync(hook, d.Payload, d.Kind, d.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), token);
            var now = time.GetUtcNow();
            var attempts = d.Attempts + 1;
            if (error is null)
            {
                metrics.WebhookAttempted("delivered");
                await hooks.RecordAttemptAsync(d.Id, DeliveryStates.Delivered, status, null, null, now, token);
            }
            else if (attempts >= options.Observability.WebhookMaxAttempts)
            {
                metrics.WebhookAttempted("failed");
                GaveUp(hook.Id, Host(hook.Url), d.Event, attempts, error);
                await hooks.RecordAttemptAsync(d.Id, DeliveryStates.Failed, status, error, null, now, token);
            }
            else
            {
                metrics.WebhookAttempted("retry");
                await hooks.RecordAttemptAsync(d.Id, DeliveryStates.Pending, status, error, now + Backoff(attempts), now, token);
            }
        });
    }

    /// <summary>The wait after <paramref name="attempts"/> failed attempts: 1 s, 2 s, 4 s, ... up to <c>webhooks.maxBackoff</c>.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var max = options.Observability.WebhookMaxBackoff;
        var seconds = Math.Pow(2, Math.Min(attempts - 1, 30));
        return seconds >= max.TotalSeconds ? max : TimeSpan.FromSeconds(seconds);
    }

    /// <summary>The test-delivery call: a made-up event sent now, once; the answer is returned, nothing is stored or retried.</summary>
    public Task<(int? Status, string? Error)> TestAsync(Webhook hook, CancellationToken ct) =>
        SendAsync(hook, WebhookEnvelope.Test(time.GetUtcNow()), "test", "test", ct);

    /// <summary>One POST; (status, null) on a 2xx answer, else the status if any and why it failed.</summary>
    private async Task<(int? Status, string? Error)> SendAsync(Webhook hook, string payload, string kind, string delivery, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(WebhookEnvelope.MediaType);
        request.Headers.TryAddWithoutValidation(WebhookEnvelope.SignatureHeader, WebhookEnvelope.Sign(hook.Secret, body));
        request.Headers.TryAddWithoutValidation("X-Berth-Event", kind);
        request.Headers.TryAddWithoutValidation("X-Berth-Delivery", delivery);
        request.Headers.UserAgent.ParseAdd("berth-webhooks/1");
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? (status, null) : (status, $"the receiver answered {status}");
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or IOException)
        {
            var reason = e is TaskCanceledException ? $"no answer within {RequestTimeout.TotalSeconds:0} s" : e.Message;
            return (null, reason.Length > MaxErrorLength ? reason[..MaxErrorLength] : reason);
        }
    }

    private static string Host(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.Authority : "?";

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 142, Level = LogLevel.Error, Message = "webhook to {Host} in the configuration is left out: {Reason}")]
    private partial void ConfiguredRefused(string host, string reason);

    [LoggerMessage(EventId = 140, Level = LogLevel.Error, Message = "webhook delivery pass failed")]
    private partial void Failed(Exception e);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning, Message = "webhook {Hook} ({Host}): event {Event} given up after {Attempts} attempts: {Error}")]
    private partial void GaveUp(long hook, string host, long @event, int attempts, string error);
}
