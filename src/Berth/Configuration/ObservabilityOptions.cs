namespace Berth.Configuration;

/// <summary>The log format, where metrics are served, and how webhook deliveries are retried.</summary>
public sealed record ObservabilityOptions
{
    public const string Text = "text";
    public const string Json = "json";

    public static readonly IReadOnlyList<string> LogFormats = [Text, Json];

    public string LogFormat { get; init; } = Text;

    /// <summary>A listen address for <c>/metrics</c> alone; null serves it on the main port to site administrators and loopback clients.</summary>
    public string? MetricsListen { get; init; }

    public int WebhookMaxAttempts { get; init; } = 12;

    public TimeSpan WebhookMaxBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Site-wide webhooks declared in configuration (what distribution's <c>notifications.endpoints</c> map onto): kept in
    /// step with the stored hooks at start, shown by the API as <c>configured</c>, not deletable there.
    /// </summary>
    public IReadOnlyList<ConfiguredWebhook> Webhooks { get; init; } = [];
}

/// <summary>One webhook of <see cref="ObservabilityOptions.Webhooks"/>; <see cref="Repositories"/> empty for all.</summary>
public sealed record ConfiguredWebhook(string Url, string Secret, IReadOnlyList<string> Events, string Repositories = "")
{
    /// <summary>
    /// Distribution's <c>notifications.endpoints</c> entry as a site-wide hook with the events distribution sends (push, pull,
    /// delete) for every repository. Its receivers check no signature, so the secret is derived from the URL (a hook added
    /// through the API gets a real one).
    /// </summary>
    public static ConfiguredWebhook FromNotification(NotificationEndpoint e) => new(e.Url,
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("berth notifications " + e.Url))),
        [Core.Webhooks.WebhookEvents.Push, Core.Webhooks.WebhookEvents.Pull, Core.Webhooks.WebhookEvents.Delete]);
}
