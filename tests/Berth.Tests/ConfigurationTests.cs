using Berth.Hosting;
using Berth.Configuration;
using Microsoft.Extensions.Logging;

namespace Berth.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string yaml)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        System.IO.File.WriteAllText(path, yaml);
        return path;
    }

    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        key => vars.FirstOrDefault(v => v.Key == key).Value;

    [Fact]
    public void DefaultsNeedNoFile()
    {
        var (options, errors) = ConfigLoader.Load(null, Env(), new ConfigLoader.Overrides());
        Assert.Empty(errors);
        Assert.Equal("127.0.0.1:5000", options!.Listen);
        Assert.Equal("./data", options.Data);
        Assert.Equal(TimeSpan.FromHours(24), options.UploadExpiry);
        Assert.False(options.AccessLog);
    }

    [Fact]
    public void FlagsBeatEnvironmentBeatsFile()
    {
        var file = File("listen: 127.0.0.1:6000\ndata: /srv/file\nuploadExpiry: 30m\nlogLevel: warning\naccessLog: true\n");
        var (fromFile, _) = ConfigLoader.Load(file, Env(), new ConfigLoader.Overrides());
        Assert.Equal(("127.0.0.1:6000", "/srv/file", TimeSpan.FromMinutes(30), LogLevel.Warning, true),
            (fromFile!.Listen, fromFile.Data, fromFile.UploadExpiry, fromFile.LogLevel, fromFile.AccessLog));

        var (fromEnv, _) = ConfigLoader.Load(file, Env(("BERTH_LISTEN", "127.0.0.1:7000"), ("BERTH_DATA", "/srv/env")), new ConfigLoader.Overrides());
        Assert.Equal(("127.0.0.1:7000", "/srv/env"), (fromEnv!.Listen, fromEnv.Data));

        var (fromFlags, _) = ConfigLoader.Load(file, Env(("BERTH_LISTEN", "127.0.0.1:7000")), new ConfigLoader.Overrides("127.0.0.1:8000", "/srv/flag"));
        Assert.Equal(("127.0.0.1:8000", "/srv/flag"), (fromFlags!.Listen, fromFlags.Data));
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var file = File("listen: nowhere\nuploadExpiry: soon\nlogLevel: loud\nmaxManifestBytes: 10\n");
        var (options, errors) = ConfigLoader.Load(file, Env(), new ConfigLoader.Overrides());
        Assert.Null(options);
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("listen:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("uploadExpiry:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("logLevel:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("maxManifestBytes:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0.0.0.0:0")]
    [InlineData(":0")]
    public async Task AnAddressOthersCanReachNeedsAUserOrOpen(string listen)
    {
        var data = Directory.CreateTempSubdirectory("berth-cfg-").FullName;
        try
        {
            // Refused before anything binds: no user means no authentication.
            var refused = await Assert.ThrowsAsync<StartupException>(() => ServerHost.BuildAsync(Options(listen, data), TimeProvider.System));
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("--open", refused.Message);
            await using (await ServerHost.BuildAsync(Options(listen, data) with { Open = true }, TimeProvider.System)) { }
            // With a user, authentication is on and the address is allowed.
            await using (await ServerHost.BuildAsync(Options(listen, data) with { AdminPassword = "correct horse" }, TimeProvider.System)) { }
            await using (await ServerHost.BuildAsync(Options(listen, data), TimeProvider.System)) { }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static BerthOptions Options(string listen, string data) =>
        ConfigLoader.Load(null, Env(), new ConfigLoader.Overrides(Listen: listen, Data: data)).Options! with { LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };

    [Theory]
    [InlineData("127.0.0.1:5000")]
    [InlineData("localhost:5000")]
    [InlineData("[::1]:5000")]
    public void LoopbackNeedsNothing(string listen) =>
        Assert.NotNull(ConfigLoader.Load(null, Env(), new ConfigLoader.Overrides(Listen: listen)).Options);

    [Theory]
    [InlineData("15702", "0.0.0.0:15702")]
    [InlineData(":15702", "0.0.0.0:15702")]
    [InlineData("0.0.0.0:15702", "0.0.0.0:15702")]
    [InlineData("127.0.0.1:5000", "127.0.0.1:5000")]
    [InlineData("localhost:5000", "127.0.0.1:5000")]
    [InlineData("LOCALHOST:5000", "127.0.0.1:5000")]
    [InlineData("[::1]:5000", "[::1]:5000")]
    [InlineData("[::]:5000", "[::]:5000")]
    public void ListenForms(string listen, string endpoint) =>
        Assert.Equal(endpoint, Assert.Single(BerthOptions.ParseListen(listen).EndPoints!).ToString());

    [Fact]
    public void AHostNameThatResolvesIsAccepted()
    {
        // The machine's own name is in /etc/hosts (or DNS) wherever the suite runs; what it resolves to is the system's answer.
        var name = System.Net.Dns.GetHostName();
        var expected = System.Net.Dns.GetHostAddresses(name);
        Assert.NotEmpty(expected);
        var (endpoints, error) = BerthOptions.ParseListen($"{name}:5000");
        Assert.Null(error);
        Assert.Equal(expected.Distinct().Select(a => new System.Net.IPEndPoint(a, 5000)), endpoints!);
    }

    [Theory]
    [InlineData("nowhere", "is not HOST:PORT, :PORT or PORT (for example 127.0.0.1:5000)")]
    [InlineData("70000", "port \"70000\" is not a number from 1 to 65535")]
    [InlineData("127.0.0.1:-1", "port \"-1\" is not a number from 1 to 65535")]
    [InlineData("127.0.0.1:", "port \"\" is not a number from 1 to 65535")]
    [InlineData("[::1]5000", "an IPv6 address is written [ADDRESS]:PORT, for example [::1]:5000")]
    [InlineData("::1:5000", "an IPv6 address is written [ADDRESS]:PORT, for example [::1]:5000")]
    public void ListenMistakesAreOneClearLine(string listen, string error)
    {
        var (options, errors) = ConfigLoader.Load(null, Env(), new ConfigLoader.Overrides(Listen: listen));
        Assert.Null(options);
        Assert.Equal($"listen: \"{listen}\": {error}", Assert.Single(errors));
    }

    [Fact]
    public void UnknownKeysAreErrorsWithTheirLine()
    {
        var (options, errors) = ConfigLoader.Load(File("listen: 127.0.0.1:5000\nlisten_port: 5\n"), Env(), new ConfigLoader.Overrides());
        Assert.Null(options);
        Assert.Equal("line 2: unknown key \"listen_port\"", Assert.Single(errors));
    }

    [Fact]
    public void AMissingFileIsAnError()
    {
        var (options, errors) = ConfigLoader.Load(Path.Combine(_dir, "absent.yml"), Env(), new ConfigLoader.Overrides());
        Assert.Null(options);
        Assert.StartsWith("cannot read the file", Assert.Single(errors));
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("24h", 86400)]
    [InlineData("7d", 604800)]
    [InlineData("1.5h", 5400)]
    public void Durations(string text, int seconds)
    {
        Assert.True(ConfigLoader.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5x")]
    [InlineData("-5m")]
    [InlineData("m")]
    public void NotDurations(string text) => Assert.False(ConfigLoader.TryParseDuration(text, out _));
}
