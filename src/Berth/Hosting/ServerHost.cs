using Berth.Api;
using Berth.Auth;
using Berth.Configuration;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Ui;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Hosting;

/// <summary>Wires the server together from the backends <see cref="Backends"/> opens: Kestrel, the services, the surfaces.</summary>
public static class ServerHost
{
    public static async Task<WebApplication> BuildAsync(BerthOptions options, TimeProvider time, CancellationToken ct = default)
    {
        // The empty builder: no appsettings files or their watchers, no routing; what the registry needs is added below.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.FormatterName = options.Observability.LogFormat == ObservabilityOptions.Json ? JsonLogFormat.FormatName : LogFormat.FormatName);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Logging.Console.ConsoleFormatter, LogFormat>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Logging.Console.ConsoleFormatter, JsonLogFormat>());
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A failed start is reported once, by the serve command, without the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        var endpoints = options.ListenEndPoints();
        var metricsEndpoints = options.Observability.MetricsListen is { } metricsListen ? BerthOptions.ParseListen(metricsListen).EndPoints! : [];
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var endpoint in metricsEndpoints) k.Listen(endpoint);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null;
            foreach (var endpoint in endpoints)
            {
                k.Listen(endpoint, listen =>
                {
                    if (options.TlsCert is { } cert && options.TlsKey is { } key)
                    {
                        listen.Use(PlainHttpOnTlsPort.RunAsync);
                        listen.UseHttps(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key));
                    }
                    listen.Use(EndAfterData.RunAsync);
                });
            }
        });

        var notices = new List<string>();
        var backends = await Backends.OpenAsync(options, create: true, time, notices, ct);
        var storage = await Backends.OpenBlobStorageAsync(options, time, ct);
        var access = backends.AccessServices(options, time);
        if (options.Auth.AdminPassword is { } adminPassword) await access.Admin.EnsureAdminAsync(adminPassword, ct);
        if (options.Auth.Htpasswd is { } htpasswd) notices.AddRange(await Auth.Htpasswd.ImportAsync(htpasswd, backends.Accounts, access, time, ct));
        notices.AddRange(options.Warnings);
        var authEnabled = await access.Access.IsEnabledAsync(ct);
        if (!authEnabled && !endpoints.All(e => System.Net.IPAddress.IsLoopback(e.Address)) && !options.Open)
        {
            throw new StartupException($"{options.Listen} is reachable from other machines, and with no user in the database authentication is off, " +
                "so anyone could push and pull. Create a user (BERTH_ADMIN_PASSWORD, or berth user add) or pass --open to serve it anyway", ExitCodes.Usage);
        }

        var services = builder.Services;
        services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBlockMemoryPool.Factory>();
        services.AddSingleton(options);
        services.AddSingleton(time);
        services.AddSingleton(storage.Blobs);
        services.AddSingleton(storage.Staging);
        services.AddSingleton(backends.Uploads);
        services.AddSingleton(backends.BlobLinks);
        services.AddSingleton(backends.Manifests);
        services.AddSingleton(backends.Repositories);
        services.AddSingleton(backends.Accounts);
        services.AddSingleton(backends.Tokens);
        services.AddSingleton(backends.Events);
        services.AddSingleton(backends.JobLocks);
        services.AddSingleton(backends.Garbage);
        services.AddSingleton(backends.Claims);
        services.AddSingleton(access.Access);
        services.AddSingleton(access.Audit);
        services.AddSingleton(access.Admin);
        services.AddSingleton(access.Tokens);
        services.AddSingleton(access.SignIn);
        services.AddSingleton(access.Directory);
        services.AddSingleton(new PullLimiter(backends.Counters, time, options.Auth.PullLimitWindow));
        services.AddSingleton(new TokenIssuer(await backends.TokenKeyAsync(options, ct), "berth", options.Auth.TokenLifetime, time));
        services.AddSingleton<Authenticator>();
        services.AddSingleton<PullLimits>();
        services.AddSingleton<TokenEndpoint>();
        services.AddSingleton<ManagementApi>();
        services.AddSingleton(_ => new RegistryCache());
        services.AddSingleton<BlobService>();
        services.AddSingleton<UploadService>();
        services.AddSingleton(sp => new ManifestService(sp.GetRequiredService<IBlobStore>(), backends.Manifests, backends.Claims, sp.GetRequiredService<RegistryCache>(),
            sp.GetRequiredService<TimeProvider>(), options.MaxManifestBytes));
        services.AddSingleton<BlobEndpoints>();
        services.AddSingleton<UploadEndpoints>();
        services.AddSingleton<ManifestEndpoints>();
        services.AddSingleton<ListEndpoints>();
        services.AddSingleton<RegistryApi>();
        services.AddSingleton<Health>();
        services.AddSingleton(backends.Webhooks);
        services.AddSingleton(backends.Stats);
        services.AddSingleton(sp => new RegistryMetrics { Cache = sp.GetRequiredService<RegistryCache>() });
        services.AddSingleton<RequestTracing>();
        services.AddSingleton<MetricsEndpoint>();
        services.AddSingleton<Berth.Core.Webhooks.WebhookAdministration>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<WebhooksApi>();
        await services.AddWebUiAsync(backends.Secrets, time, ct);
        // Periodic work: one line per job (GC, retention, scrub, scans to come).
        services.AddSingleton<IScheduledJob, UploadExpiry>();
        services.AddSingleton<IScheduledJob, EventPrune>();
        services.AddPolicies(backends);
        services.AddSingleton<IScheduledJob, GcJob>();
        services.AddSingleton<GarbageCollector>();
        services.AddSingleton<GarbageCollection>();
        services.AddSingleton<GcApi>();
        services.AddSingleton<IScheduledJob, StorageStats>();
        services.AddSingleton<IScheduledJob, WebhookPrune>();
        services.AddSingleton<IScheduledJob, SearchLabels>();
        services.AddSingleton<Scheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<Scheduler>());
        // Reads the events outbox: what another process changed drops this process's cached copy within a second.
        services.AddHostedService<EventFeed>();

        if (options.AccessLog) services.AddSingleton<AccessLog>();

        var app = builder.Build();
        foreach (var notice in notices) app.Logger.LogWarning("{Notice}", notice);
        app.Use(RequestTarget.RestoreAsync);
        if (metricsEndpoints.Count > 0) app.Use(app.Services.GetRequiredService<MetricsEndpoint>().Separate(metricsEndpoints));
        app.Use(app.Services.GetRequiredService<RequestTracing>().InvokeAsync);
        if (options.AccessLog)
        {
            var accessLog = app.Services.GetRequiredService<AccessLog>();
            app.Use(accessLog.InvokeAsync);
        }
        app.Run(ActivatorUtilities.CreateInstance<Router>(app.Services).HandleAsync);
        return app;
    }
}
