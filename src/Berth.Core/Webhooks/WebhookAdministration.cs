using System.Security.Cryptography;
using Berth.Core.Access;
using Berth.Core.Metadata;

namespace Berth.Core.Webhooks;

/// <summary>
/// Managing webhooks, with the rights each call needs: a namespace's hooks are its administrators' (and site
/// administrators'), site-wide hooks are site administrators' only. A hook the caller may not manage is answered like a
/// missing one, so ids say nothing about other namespaces.
/// </summary>
public sealed class WebhookAdministration(IWebhooks hooks, AccessControl access, AuditTrail audit, TimeProvider time)
{
    public const int MaxUrlLength = 2048;

    /// <summary>
    /// Creates a hook for <paramref name="ns"/> (site-wide when null). Without a <paramref name="secret"/> one is made; either
    /// way the returned hook holds it, and this is the only answer that shows it.
    /// </summary>
    public async Task<Webhook> CreateAsync(Caller actor, string? ns, string url, string? secret, IReadOnlyList<string> events, string? repositories, CancellationToken ct)
    {
        await RequireManagerAsync(actor, ns, ct);
        if (ns is not null && (ns.Contains('/') || !Names.IsValidRepository(ns))) throw Invalid($"\"{ErrorDetail.Clip(ns)}\" is not a namespace");
        var target = ValidateUrl(url);
        if (secret is { Length: < 16 or > 256 }) throw Invalid("a secret needs 16 to 256 characters (leave it out and one is made)");
        if (events.Count == 0) throw Invalid($"name the events to send: {string.Join(", ", WebhookEvents.Names)}");
        foreach (var e in events)
        {
            if (!WebhookEvents.Names.Contains(e)) throw Invalid($"\"{ErrorDetail.Clip(e)}\" is not an event; use {string.Join(", ", WebhookEvents.Names)}");
        }
        var pattern = repositories ?? "";
        if (pattern.Length > WebhookEvents.MaxPatternLength) throw Invalid($"a repository pattern has at most {WebhookEvents.MaxPatternLength} characters");
        var hook = await hooks.CreateAsync(new Webhook(0, ns, target.AbsoluteUri, secret ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)),
            events.Distinct().ToList(), pattern, time.GetUtcNow()), ct);
        await audit.RecordAsync(actor, "webhook.create", ns ?? "(site)", true, $"{hook.Id} {target.Host}", ct);
        return hook;
    }

    /// <summary>The hooks of <paramref name="ns"/>, or (null) every hook, site-wide and of all namespaces, for site administrators.</summary>
    public async Task<IReadOnlyList<Webhook>> ListAsync(Caller actor, string? ns, CancellationToken ct)
    {
        await RequireManagerAsync(actor, ns, ct);
        return await hooks.ListAsync(ns, ct);
    }

    /// <summary>The hook, if the caller may manage it; else NOT_FOUND, as for a missing one.</summary>
    public async Task<Webhook> GetAsync(Caller actor, long id, CancellationToken ct)
    {
        var hook = await hooks.GetAsync(id, ct);
        if (hook is null || !await MayManageAsync(actor, hook.Namespace, ct)) throw new RegistryException(ErrorCode.NotFound, $"no webhook {id}");
        return hook;
    }

    public async Task DeleteAsync(Caller actor, long id, CancellationToken ct)
    {
        var hook = await GetAsync(actor, id, ct);
        if (hook.Configured) throw new RegistryException(ErrorCode.Conflict, $"webhook {id} is declared in the server's configuration; remove it there");
        await hooks.DeleteAsync(id, ct);
        await audit.RecordAsync(actor, "webhook.delete", hook.Namespace ?? "(site)", true, id.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(Caller actor, long id, int limit, CancellationToken ct)
    {
        await GetAsync(actor, id, ct);
        return await hooks.ListDeliveriesAsync(id, limit, ct);
    }

    /// <summary>An absolute http or https URL without credentials in it (they would show in lists and logs: use the secret).</summary>
    public static Uri ValidateUrl(string url)
    {
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw Invalid($"\"{ErrorDetail.Clip(url)}\" is not an http or https URL");
        }
        if (uri.UserInfo.Length > 0) throw Invalid("a webhook URL may not hold credentials; the receiver checks the signature made with the secret");
        return uri;
    }

    private async Task RequireManagerAsync(Caller actor, string? ns, CancellationToken ct)
    {
        AccountRules.Require(!actor.IsAnonymous, "sign in to manage webhooks");
        AccountRules.Require(await MayManageAsync(actor, ns, ct), ns is null ? "only an administrator may manage site-wide webhooks" : $"only an administrator of {ns} may manage its webhooks");
    }

    private async Task<bool> MayManageAsync(Caller actor, string? ns, CancellationToken ct) =>
        !actor.IsAnonymous && (actor.IsAdmin && actor.HasFullRights || ns is not null && await access.NamespaceRoleAsync(actor, ns, ct) == Role.Admin);

    private static RegistryException Invalid(string message) => new(ErrorCode.InvalidRequest, message);
}
