using Berth.Configuration;
using Berth.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Berth.Tests.Support;

/// <summary>
/// The real server on a real Kestrel port of 127.0.0.1 with its own data directory, one per test class.
/// It can be stopped and started again on the same data directory to test what survives a restart.
/// </summary>
public class RegistryServer : IAsyncLifetime
{
    private WebApplication? _app;
    private RegistryClient? _client;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("berth-e2e-").FullName;

    internal RegistryClient Client => _client ?? throw new InvalidOperationException("the server is not running");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the server is not running");

    /// <summary>A fixture with other settings (authentication, limits) overrides this.</summary>
    protected virtual BerthOptions Configure(BerthOptions options) => options;

    /// <summary>The server's clock: the wall clock, or one a test moves (limits, lockouts, cache lifetimes) instead of sleeping.</summary>
    public virtual TimeProvider Time => TimeProvider.System;

    /// <summary>A new client of the running server (its own connection pool and credentials).</summary>
    internal RegistryClient NewClient() => new(Client.BaseAddress);

    public virtual Task InitializeAsync() => StartAsync();

    public async Task StartAsync()
    {
        if (_app is not null) throw new InvalidOperationException("already running");
        var app = await ServerHost.BuildAsync(Configure(new BerthOptions
        {
            Listen = "127.0.0.1:0",
            Data = DataDirectory,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        }), Time);
        await app.StartAsync();
        _app = app;
        var url = Assert.Single(app.Urls);
        var uri = new Uri(url);
        Assert.Equal("127.0.0.1", uri.Host);
        Assert.NotEqual(0, uri.Port);
        _client = new RegistryClient(uri);
    }

    public async Task StopAsync()
    {
        _client?.Dispose();
        _client = null;
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public virtual async Task DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}
