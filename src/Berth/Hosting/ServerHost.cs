using Berth.Api;
using Berth.Auth;
using Berth.Configuration;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Metadata;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Hosting;

/// <summary>Wires the registry together: the only place that knows every piece.</summary>
public static class ServerHost
{
    public static async Task<WebApplication> BuildAsync(BerthOptions options, CancellationToken ct = default)
    {
        // The empty builder: no appsettings files or their watchers, no routing; what the registry needs is added below.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.FormatterName = LogFormat.FormatName);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Logging.Console.ConsoleFormatter, LogFormat>());
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A failed start is reported once, by the serve command, without the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        var endpoints = options.ListenEndPoints();
        builder.WebHost.ConfigureKestrel(k =>
        {
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

        var paths = new StoragePaths(options.Data);
        var notices = new List<string>();
        var database = await DataDirectory.OpenAsync(paths.Root, create: true, notices, ct);
        var metadata = new SqliteMetadataStore(database);
        var accountStore = new SqliteAccountStore(database);
        var access = new AccessControl(accountStore, TimeProvider.System);
        var accounts = new AccountService(accountStore, new SqliteAuditStore(database), access,
            new LoginThrottle(TimeProvider.System, options.LoginMaxFailures, options.LoginLockout), TimeProvider.System);
        if (options.AdminPassword is { } adminPassword) await accounts.EnsureAdminAsync(adminPassword, ct);
        var authEnabled = await access.IsEnabledAsync(ct);
        if (!authEnabled && !endpoints.All(e => System.Net.IPAddress.IsLoopback(e.Address)) && !options.Open)
        {
            throw new StartupException($"{options.Listen} is reachable from other machines, and with no user in the database authentication is off, " +
                "so anyone could push and pull. Create a user (BERTH_ADMIN_PASSWORD, or berth user add) or pass --open to serve it anyway", ExitCodes.Usage);
        }

        var services = builder.Services;
        services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBlockMemoryPool.Factory>();
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(paths);
        services.AddSingleton<IBlobStore, FileSystemBlobStore>();
        services.AddSingleton<IMetadataStore>(metadata);
        services.AddSingleton<IAccountStore>(accountStore);
        services.AddSingleton(access);
        services.AddSingleton(accounts);
        services.AddSingleton(new PullLimiter(TimeProvider.System, options.PullLimitWindow));
        services.AddSingleton(new TokenIssuer(options.TokenKey ?? Path.Combine(paths.Root, "token-key.pem"), "berth", options.TokenLifetime, TimeProvider.System));
        services.AddSingleton<Authenticator>();
        services.AddSingleton<PullLimits>();
        services.AddSingleton<TokenEndpoint>();
        services.AddSingleton<ManagementApi>();
        services.AddSingleton(_ => new RegistryCache());
        services.AddSingleton<BlobService>();
        services.AddSingleton<UploadService>();
        services.AddSingleton(sp => new ManifestService(sp.GetRequiredService<IBlobStore>(), metadata, sp.GetRequiredService<RegistryCache>(),
            sp.GetRequiredService<TimeProvider>(), options.MaxManifestBytes));
        services.AddSingleton<BlobEndpoints>();
        services.AddSingleton<UploadEndpoints>();
        services.AddSingleton<ManifestEndpoints>();
        services.AddSingleton<ListEndpoints>();
        services.AddSingleton<RegistryApi>();
        services.AddHostedService<UploadExpiry>();

        if (options.AccessLog) services.AddSingleton<AccessLog>();

        var app = builder.Build();
        foreach (var notice in notices) app.Logger.LogWarning("{Notice}", notice);
        app.Use(RequestTarget.RestoreAsync);
        if (options.AccessLog)
        {
            var accessLog = app.Services.GetRequiredService<AccessLog>();
            app.Use(accessLog.InvokeAsync);
        }
        app.Run(ActivatorUtilities.CreateInstance<Router>(app.Services).HandleAsync);
        return app;
    }
}
