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

    private static Dictionary<string, string> Flags(params (string Name, string Value)[] flags) => flags.ToDictionary(f => f.Name, f => f.Value);

    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        key => vars.FirstOrDefault(v => v.Key == key).Value;

    [Fact]
    public void DefaultsNeedNoFile()
    {
        var (options, errors) = ConfigLoader.Load(null, Env(), Flags());
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
        var (fromFile, _) = ConfigLoader.Load(file, Env(), Flags());
        Assert.Equal(("127.0.0.1:6000", "/srv/file", TimeSpan.FromMinutes(30), LogLevel.Warning, true),
            (fromFile!.Listen, fromFile.Data, fromFile.UploadExpiry, fromFile.LogLevel, fromFile.AccessLog));

        var (fromEnv, _) = ConfigLoader.Load(file, Env(("BERTH_LISTEN", "127.0.0.1:7000"), ("BERTH_DATA", "/srv/env")), Flags());
        Assert.Equal(("127.0.0.1:7000", "/srv/env"), (fromEnv!.Listen, fromEnv.Data));

        var (fromFlags, _) = ConfigLoader.Load(file, Env(("BERTH_LISTEN", "127.0.0.1:7000")), Flags(("listen", "127.0.0.1:8000"), ("data", "/srv/flag")));
        Assert.Equal(("127.0.0.1:8000", "/srv/flag"), (fromFlags!.Listen, fromFlags.Data));
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var file = File("listen: nowhere\nuploadExpiry: soon\nlogLevel: loud\nmaxManifestBytes: 10\n");
        var (options, errors) = ConfigLoader.Load(file, Env(), Flags());
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
            await using (await ServerHost.BuildAsync(Options(listen, data) with { Auth = new AuthOptions { AdminPassword = "correct horse" } }, TimeProvider.System)) { }
            await using (await ServerHost.BuildAsync(Options(listen, data), TimeProvider.System)) { }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static BerthOptions Options(string listen, string data) =>
        ConfigLoader.Load(null, Env(), Flags(("listen", listen), ("data", data))).Options! with { LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };

    [Theory]
    [InlineData("127.0.0.1:5000")]
    [InlineData("localhost:5000")]
    [InlineData("[::1]:5000")]
    public void LoopbackNeedsNothing(string listen) =>
        Assert.NotNull(ConfigLoader.Load(null, Env(), Flags(("listen", listen))).Options);

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
        var (options, errors) = ConfigLoader.Load(null, Env(), Flags(("listen", listen)));
        Assert.Null(options);
        Assert.Equal($"listen: \"{listen}\": {error}", Assert.Single(errors));
    }

    [Fact]
    public void UnknownKeysAreErrorsWithTheirLine()
    {
        var (options, errors) = ConfigLoader.Load(File("listen: 127.0.0.1:5000\nlisten_port: 5\n"), Env(), Flags());
        Assert.Null(options);
        Assert.Equal("line 2: unknown key \"listen_port\"", Assert.Single(errors));
    }

    [Fact]
    public void AMissingFileIsAnError()
    {
        var (options, errors) = ConfigLoader.Load(Path.Combine(_dir, "absent.yml"), Env(), Flags());
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

    [Fact]
    public void S3StorageIsASectionWithItsKeysFromTheEnvironment()
    {
        var file = File("""
            storage:
              type: s3
              s3:
                endpoint: http://127.0.0.1:7480/
                bucket: berth
                region: eu-west-1
                forcePathStyle: false
                redirect: true
            """);
        var (options, errors) = ConfigLoader.Load(file, Env(("BERTH_S3_ACCESS_KEY", "AKID"), ("BERTH_S3_SECRET_KEY", "very-secret")), Flags());
        Assert.Empty(errors);
        Assert.Equal(new S3StorageOptions
        {
            Endpoint = "http://127.0.0.1:7480", Bucket = "berth", Region = "eu-west-1", AccessKey = "AKID", SecretKey = "very-secret",
            ForcePathStyle = false, Redirect = true,
        }, options!.Storage.S3);
        Assert.Equal(StorageOptions.S3Type, options.Storage.Type);
        Assert.DoesNotContain("very-secret", options.ToString());
        Assert.DoesNotContain(Settings.All, s => s.Show(options) == "very-secret");
    }

    [Fact]
    public void S3StorageNeedsItsEndpointBucketAndKeys()
    {
        var (options, errors) = ConfigLoader.Load(File("storage:\n  type: s3\n  s3:\n    bucket: berth\n"), Env(("BERTH_S3_ACCESS_KEY", "AKID")), Flags());
        Assert.Null(options);
        Assert.Equal(["storage.s3.endpoint, storage.s3.secretKey: needed with storage.type s3"], errors);
        (_, errors) = ConfigLoader.Load(File("storage:\n  s3:\n    endpoint: ftp://x\n    bucket: No_Such\n"), Env(), Flags());
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("storage.s3.endpoint:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("storage.s3.bucket:", StringComparison.Ordinal));
    }
}

/// <summary>The sections, the old flat names, and the README's table, which cannot drift from the declarations.</summary>
public sealed class ConfigurationSectionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-sections-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (BerthOptions? Options, IReadOnlyList<string> Errors) Load(string yaml)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yml");
        System.IO.File.WriteAllText(path, yaml);
        return ConfigLoader.Load(path, _ => null);
    }

    [Fact]
    public void SectionsAreRead()
    {
        var (options, errors) = Load("""
            listen: 127.0.0.1:6000
            storage:
              type: filesystem
              filesystem:
                path: /srv/blobs
            metadata:
              type: sqlite
            auth:
              tokenLifetime: 10m
              pullLimit:
                anonymous: 3
                signedIn: 9
                window: 1h
              login:
                maxFailures: 4
                lockout: 2m
            """);
        Assert.Empty(errors);
        Assert.Equal("/srv/blobs", options!.Storage.FileSystem.Path);
        Assert.Equal(new AuthOptions { TokenLifetime = TimeSpan.FromMinutes(10), PullLimitAnonymous = 3, PullLimitSignedIn = 9,
            PullLimitWindow = TimeSpan.FromHours(1), LoginMaxFailures = 4, LoginLockout = TimeSpan.FromMinutes(2) }, options.Auth);
    }

    [Fact]
    public void PostgresIsChosenWithItsConnectionString()
    {
        var (options, errors) = Load("metadata:\n  type: postgres\n  postgres:\n    connectionString: Host=db;Database=berth;Username=berth;Password=s3cret\n");
        Assert.Empty(errors);
        Assert.Equal((MetadataOptions.PostgresType, "Host=db;Database=berth;Username=berth;Password=s3cret"),
            (options!.Metadata.Type, options.Metadata.Postgres.ConnectionString));
    }

    [Fact]
    public void TheFlatNamesStillWork()
    {
        var (options, errors) = Load("pullLimitAnonymous: 3\npullLimitWindow: 1h\nloginLockout: 2m\ntokenKey: /k.pem\n");
        Assert.Empty(errors);
        Assert.Equal((3, TimeSpan.FromHours(1), TimeSpan.FromMinutes(2), "/k.pem"),
            (options!.Auth.PullLimitAnonymous, options.Auth.PullLimitWindow, options.Auth.LoginLockout, options.Auth.TokenKey));
    }

    [Theory]
    [InlineData("auth:\n  pullLimit:\n    anonymus: 3\n", "line 3: unknown key \"auth.pullLimit.anonymus\"")]
    [InlineData("gc:\n  interval: 1h\n", "line 2: unknown key \"gc.interval\"")]
    [InlineData("nosuchsection:\n  interval: 1h\n", "line 1: unknown key \"nosuchsection\"")]
    [InlineData("auth: 5\n", "line 1: \"auth\" must be a section of keys")]
    [InlineData("pullLimitWindow: 1h\nauth:\n  pullLimit:\n    window: 2h\n", "line 4: \"auth.pullLimit.window\" is given twice (also as \"pullLimitWindow\" on line 1)")]
    [InlineData("storage:\n  type: gcs\n", "storage.type: \"gcs\" is not one of filesystem, s3")]
    [InlineData("metadata:\n  type: mysql\n", "metadata.type: \"mysql\" is not one of sqlite, postgres")]
    [InlineData("metadata:\n  type: postgres\n", "metadata.postgres.connectionString: metadata.type is postgres; give the database's connection string (or BERTH_POSTGRES)")]
    [InlineData("metadata:\n  postgres:\n    connectionString: Host=db;Password=s3cret;Colour=blue\n", "metadata.postgres.connectionString: is not a connection string (Couldn't set colour)")]
    [InlineData("metadata:\n  postgres:\n    connectionString: Database=berth;Password=s3cret\n", "metadata.postgres.connectionString: names no Host")]
    [InlineData("pullLimitWindow: soon\n", "pullLimitWindow: \"soon\" is not a duration of at least 1s (for example 30s, 5m, 6h, 1d)")]
    public void MistakesNameTheKeyAsWritten(string yaml, string error)
    {
        var (options, errors) = Load(yaml);
        Assert.Null(options);
        Assert.Equal(error, Assert.Single(errors));
    }

    [Fact]
    public void EveryDefaultReadsBackAsItself()
    {
        foreach (var s in Settings.All.Where(s => s.DefaultNote is null && s.Show(new BerthOptions()) is not null))
        {
            var (applied, error) = s.Apply(new BerthOptions(), s.Show(new BerthOptions())!);
            Assert.True(error is null, $"{s.Name}: {error}");
            Assert.Equal(new BerthOptions(), applied);
        }
    }

    [Fact]
    public void TheReadmeTableIsTheDeclarations()
    {
        var dir = AppContext.BaseDirectory;
        while (!System.IO.File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("no Berth.slnx above the tests");
        var readme = System.IO.File.ReadAllLines(Path.Combine(dir, "README.md"));
        var start = Array.IndexOf(readme, "## Configuration");
        var table = readme.Skip(start).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|')).ToList();
        // Regenerate with: berth config keys
        Assert.Equal(Settings.MarkdownTable().ToList(), table);
    }
}
