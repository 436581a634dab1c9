using Berth.Api;
using Berth.Configuration;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;
using Berth.Metadata;

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
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A failed start is reported once, by the serve command, without the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null;
            k.Listen(options.ListenEndPoint);
        });

        var paths = new StoragePaths(options.Data);
        var metadata = new SqliteMetadataStore(Path.Combine(paths.Root, "berth.db"));
        await metadata.MigrateAsync(ct);

        var services = builder.Services;
        services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBlockMemoryPool.Factory>();
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(paths);
        services.AddSingleton<IBlobStore, FileSystemBlobStore>();
        services.AddSingleton<IMetadataStore>(metadata);
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
        if (options.AccessLog)
        {
            var accessLog = app.Services.GetRequiredService<AccessLog>();
            app.Use(accessLog.InvokeAsync);
        }
        var api = app.Services.GetRequiredService<RegistryApi>();
        app.Run(api.HandleAsync);
        return app;
    }
}
