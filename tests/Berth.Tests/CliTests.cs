using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Berth.Core.Access;
using Berth.Hosting;

namespace Berth.Tests;

/// <summary>The command line as an operator meets it: messages, errors in one line, exit codes (0 ok, 1 failed, 2 usage or configuration).</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-cli-").FullName;

    private string Data => Path.Combine(_dir, "data");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(string? stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await new Cli(new StringReader(stdin ?? ""), output, error, TimeProvider.System).RunAsync(args);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Runs a verb on the test's data directory.</summary>
    private Task<(int Code, string Out, string Err)> Verb(params string[] args) => Run(null, [.. args, "--data", Data]);

    private async Task CreateRegistryAsync() => await DataDirectory.OpenAsync(Data, create: true, [], TimeProvider.System, default);

    private static void OneLine(string text, string startsWith)
    {
        Assert.StartsWith(startsWith, text);
        Assert.Single(text.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task AVerbOnADirectoryWithoutARegistryRefusesAndCreatesNothing()
    {
        var wrong = Path.Combine(_dir, "wrong");
        var (code, output, error) = await Run(null, "user", "list", "--data", wrong);
        Assert.Equal(2, code);
        Assert.Empty(output);
        OneLine(error, $"berth user list: {wrong} does not exist");
        Assert.False(Directory.Exists(wrong));

        Directory.CreateDirectory(wrong);
        (code, _, error) = await Run(null, "user", "list", "--data", wrong);
        Assert.Equal(2, code);
        OneLine(error, $"berth user list: {wrong} holds no registry (no berth.db)");
        Assert.Empty(Directory.GetFileSystemEntries(wrong));
    }

    [Fact]
    public async Task ADatabaseThatCannotBeOpenedIsNamedWithTheCause()
    {
        Directory.CreateDirectory(Path.Combine(Data, "berth.db"));
        var (code, _, error) = await Verb("user", "list");
        Assert.Equal(1, code);
        OneLine(error, $"berth user list: cannot open {Path.Combine(Data, "berth.db")}: berth.db is a directory");

        var (serveCode, _, serveError) = await Run(null, "serve", "--listen", "127.0.0.1:0", "--data", Data);
        Assert.Equal(1, serveCode);
        OneLine(serveError, $"berth serve: cannot open {Path.Combine(Data, "berth.db")}: berth.db is a directory");
    }

    [Fact]
    public async Task ATakenPortIsOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, error) = await Run(null, "serve", "--listen", $"127.0.0.1:{port}", "--data", Data);
        Assert.Equal(1, code);
        OneLine(error, "berth serve: cannot start: ");
        Assert.Contains("address already in use", error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData(":0")]
    public async Task APortAloneIsEveryInterfaceWithTheOpenModeRefusal(string listen)
    {
        var (code, _, error) = await Run(null, "serve", "--listen", listen, "--data", Data);
        Assert.Equal(2, code);
        OneLine(error, $"berth serve: {listen} is reachable from other machines");
    }

    [Theory]
    [InlineData("127.0.0.1:70000", "port \"70000\" is not a number from 1 to 65535")]
    [InlineData("127.0.0.1:http", "port \"http\" is not a number from 1 to 65535")]
    [InlineData("no-such-host.invalid:5000", "cannot resolve host name \"no-such-host.invalid\"")]
    [InlineData("::1:5000", "an IPv6 address is written [ADDRESS]:PORT")]
    public async Task ABadListenAddressIsAConfigurationError(string listen, string message)
    {
        var (code, _, error) = await Run(null, "serve", "--listen", listen, "--data", Data);
        Assert.Equal(2, code);
        OneLine(error, $"berth serve: configuration: listen: \"{listen}\": {message}");
        Assert.False(Directory.Exists(Data));
    }

    [Fact]
    public async Task ConfigCheckReadsAndParsesTheTlsFiles()
    {
        var config = Path.Combine(_dir, "berth.yml");
        var cert = Path.Combine(_dir, "cert.pem");
        var key = Path.Combine(_dir, "key.pem");
        await File.WriteAllTextAsync(config, $"tlsCert: {cert}\ntlsKey: {key}\n");

        var (code, _, error) = await Run(null, "config", "check", config);
        Assert.Equal(2, code);
        Assert.Equal($"{config}: tlsCert: cannot read {cert}: no such file or directory\n{config}: tlsKey: cannot read {key}: no such file or directory\n", error.ReplaceLineEndings("\n"));

        await File.WriteAllTextAsync(cert, "not a certificate");
        await File.WriteAllTextAsync(key, "not a key");
        (code, _, error) = await Run(null, "config", "check", config);
        Assert.Equal(2, code);
        OneLine(error, $"{config}: tlsCert: {cert} holds no PEM certificate");

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var made = new CertificateRequest("CN=berth.test", ecdsa, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(cert, made.ExportCertificatePem());
        (code, _, error) = await Run(null, "config", "check", config);
        Assert.Equal(2, code);
        OneLine(error, $"{config}: tlsKey: {key} holds no PEM private key that matches the certificate in {cert}");

        await File.WriteAllTextAsync(key, ecdsa.ExportPkcs8PrivateKeyPem());
        (code, var output, _) = await Run(null, "config", "check", config);
        Assert.Equal(0, code);
        Assert.StartsWith($"{config}: ok", output);
    }

    [Fact]
    public async Task AnInvalidConfigurationFileIsExitCode2()
    {
        var config = Path.Combine(_dir, "bad.yml");
        await File.WriteAllTextAsync(config, "listen_port: 5\n");
        var (code, _, error) = await Run(null, "config", "check", config);
        Assert.Equal(2, code);
        OneLine(error, $"{config}: line 1: unknown key \"listen_port\"");
    }

    [Fact]
    public async Task VerbsSayWhatTheyDid()
    {
        await CreateRegistryAsync();
        Assert.Equal((0, "created user alice\n"), Pick(await Run("alice-password\n", "user", "add", "alice", "--password-stdin", "--data", Data)));
        Assert.Equal((0, "created organisation acme (owner alice)\n"), Pick(await Verb("org", "add", "acme", "--owner", "alice")));
        Assert.Equal((0, "created team acme/devs\n"), Pick(await Verb("team", "add", "acme", "devs")));
        Assert.Equal((0, "added alice to team acme/devs\n"), Pick(await Verb("team", "member", "add", "acme", "devs", "alice")));
        Assert.Equal((0, "granted write on namespace acme to team:acme/devs\n"), Pick(await Verb("grant", "write", "team:acme/devs", "acme", "--namespace")));
        Assert.Equal((0, "revoked the grant of team:acme/devs on namespace acme\n"), Pick(await Verb("grant", "none", "team:acme/devs", "acme", "--namespace")));
        Assert.Equal((0, "repositories created in acme from now on are public\n"), Pick(await Verb("namespace", "visibility", "acme", "public")));
        Assert.Equal((0, "acme/api is public\n"), Pick(await Verb("repo", "visibility", "acme/api", "public")));
        Assert.Equal((0, "removed alice from team acme/devs\n"), Pick(await Verb("team", "member", "remove", "acme", "devs", "alice")));
        Assert.Equal((0, "deleted team acme/devs\n"), Pick(await Verb("team", "delete", "acme", "devs")));
        Assert.Equal((0, "removed alice from acme\n"), Pick(await Verb("org", "member", "remove", "acme", "alice")));
        Assert.Equal((0, "alice is an owner of acme\n"), Pick(await Verb("org", "member", "add", "acme", "alice", "--owner")));
        Assert.Equal((0, "changed the password of alice\n"), Pick(await Run("new-alice-password\n", "user", "passwd", "alice", "--password-stdin", "--data", Data)));
        var (code, secret, info) = await Verb("token", "create", "alice", "--scope", "acme/*:pull");
        Assert.Equal(0, code);
        var id = Secrets.TokenId(secret.Trim());
        Assert.NotNull(id);
        Assert.StartsWith($"created token {id} for alice (acme/*:pull)", info);
        Assert.Equal((0, $"revoked token {id}\n"), Pick(await Verb("token", "revoke", id)));
        Assert.Equal((0, "deleted acme\n"), Pick(await Verb("user", "delete", "acme")));

        // An organisation whose owner does not exist is not created half-way.
        Assert.Equal((1, ""), Pick(await Verb("org", "add", "beta", "--owner", "nobody-here")));
        Assert.DoesNotContain("beta", (await Verb("user", "list")).Out);
    }

    private static (int, string) Pick((int Code, string Out, string Err) r) => (r.Code, r.Out.ReplaceLineEndings("\n"));

    [Fact]
    public async Task ErrorsNameTheWholeCommand()
    {
        await CreateRegistryAsync();
        var (code, _, error) = await Verb("org", "add", "acme", "--owner", "ghost");
        Assert.Equal(1, code);
        OneLine(error, "berth org add: no user ghost");
        (code, _, error) = await Verb("team", "member", "add", "acme", "devs", "bob");
        Assert.Equal(1, code);
        OneLine(error, "berth team member add: no account acme");
    }

    [Fact]
    public async Task ABadFlagIsOneLineWithAPointerToHelp()
    {
        var (code, output, error) = await Run(null, "org", "add", "acme", "--bogus");
        Assert.Equal(2, code);
        Assert.Empty(output);
        OneLine(error, "berth org add: ");
        Assert.Contains("--bogus", error);
        Assert.EndsWith("(see 'berth org add --help')\n", error.ReplaceLineEndings("\n"));

        (code, _, error) = await Run(null, "user", "admin", "alice", "maybe");
        Assert.Equal(2, code);
        OneLine(error, "berth user admin: Argument 'maybe' not recognized. Must be one of: 'on' 'off' (see 'berth user admin --help')");
    }

    [Fact]
    public async Task HelpIsACommandToo()
    {
        var (code, help, _) = await Run(null, "help");
        var (_, flag, _) = await Run(null, "--help");
        Assert.Equal(0, code);
        Assert.Equal(flag, help);
        Assert.Contains("serve", help);
        var (_, userHelp, _) = await Run(null, "help", "user", "add");
        var (_, userFlag, _) = await Run(null, "user", "add", "--help");
        Assert.Equal(userFlag, userHelp);
        Assert.Contains("--password-stdin", userHelp);
    }

    [Fact]
    public void EveryArgumentAndOptionIsDescribed()
    {
        var root = (RootCommand)typeof(Cli).GetMethod("Root", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .Invoke(new Cli(TextReader.Null, TextWriter.Null, TextWriter.Null, TimeProvider.System), null)!;
        var missing = new List<string>();
        void Walk(Command command, string path)
        {
            if (string.IsNullOrWhiteSpace(command.Description)) missing.Add(path);
            foreach (var a in command.Arguments) if (string.IsNullOrWhiteSpace(a.Description)) missing.Add($"{path} <{a.Name}>");
            foreach (var o in command.Options) if (string.IsNullOrWhiteSpace(o.Description)) missing.Add($"{path} {o.Name}");
            foreach (var c in command.Subcommands) Walk(c, $"{path} {c.Name}");
        }
        Walk(root, "berth");
        Assert.Empty(missing);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1001")]
    public async Task AuditLimitMustBePositive(string limit)
    {
        await CreateRegistryAsync();
        var (code, output, error) = await Verb("audit", "--limit", limit);
        Assert.Equal(2, code);
        Assert.Empty(output);
        OneLine(error, "berth audit: --limit must be from 1 to 1000");
    }

    [Fact]
    public async Task ATokenNeedsAScopeFromTheCliAsFromTheApi()
    {
        await CreateRegistryAsync();
        await Run("alice-password\n", "user", "add", "alice", "--password-stdin", "--data", Data);
        var (code, output, error) = await Verb("token", "create", "alice");
        Assert.Equal(2, code);
        Assert.Empty(output);
        OneLine(error, "berth token create: a token needs at least one scope");
        (code, output, _) = await Verb("token", "create", "alice", "--scope", "*:*");
        Assert.Equal(0, code);
        Assert.StartsWith("berth_", output);
    }

    [Fact]
    public async Task UserAdminOnAndOffAndTheLastAdministratorStays()
    {
        await CreateRegistryAsync();
        await Run("alice-password\n", "user", "add", "alice", "--password-stdin", "--admin", "--data", Data);
        await Run("bob-password\n", "user", "add", "bob", "--password-stdin", "--data", Data);
        Assert.Equal((0, "bob is a site administrator\n"), Pick(await Verb("user", "admin", "bob", "on")));
        Assert.Contains("bob\tuser\tadmin", (await Verb("user", "list")).Out);
        Assert.Equal((0, "alice is not a site administrator\n"), Pick(await Verb("user", "admin", "alice", "off")));
        var (code, _, error) = await Verb("user", "admin", "bob", "off");
        Assert.Equal(1, code);
        OneLine(error, "berth user admin: bob is the last site administrator; make another user one first (berth user admin NAME on)");
        (code, _, error) = await Verb("user", "delete", "bob");
        Assert.Equal(1, code);
        OneLine(error, "berth user delete: bob is the last site administrator");
        var audit = (await Verb("audit", "--action", "user.admin")).Out;
        Assert.Contains("user.admin\tbob\tok\ton", audit);
        Assert.Contains("user.admin\talice\tok\toff", audit);
    }

    [Fact]
    public async Task TheFirstUserByTheCliSaysWhatOnlyAdministratorsCanReach()
    {
        await CreateRegistryAsync();
        // As an anonymous push in open mode leaves them: rows in repositories, nothing else.
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Data, "berth.db")};Pooling=False"))
        {
            await c.OpenAsync();
            await using var insert = c.CreateCommand();
            insert.CommandText = "INSERT INTO repositories (name, created) VALUES ('pushed/early', 0), ('solo', 0), ('alice/own', 0)";
            await insert.ExecuteNonQueryAsync();
        }

        var (code, _, error) = await Run("alice-password\n", "user", "add", "alice", "--password-stdin", "--data", Data);
        Assert.Equal(0, code);
        Assert.Contains("authentication is now on", error);
        // alice/own is alice's now that she exists; the other two have no owner.
        Assert.Contains("2 repositories (pushed/early, solo) can be reached by site administrators only", error);
        Assert.Contains("berth repo visibility NAME public", error);

        await Verb("repo", "visibility", "solo", "public");
        await Verb("grant", "read", "user:alice", "pushed/early");
        (_, _, error) = await Run("bob-password\n", "user", "add", "bob", "--password-stdin", "--data", Data);
        Assert.DoesNotContain("site administrators only", error);
    }
}
