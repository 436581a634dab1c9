using System.CommandLine;
using System.Reflection;
using Berth.Configuration;
using Berth.Hosting;

var configOption = new Option<string?>("--config", "-c") { Description = "configuration file (default: ./berth.yml when present, or BERTH_CONFIG)" };
var listenOption = new Option<string?>("--listen") { Description = "address to listen on, HOST:PORT (default 127.0.0.1:5000; env BERTH_LISTEN)" };
var dataOption = new Option<string?>("--data") { Description = "data directory for blobs and metadata (default ./data; env BERTH_DATA)" };
var openOption = new Option<bool>("--open") { Description = "allow a non-loopback --listen address while no user exists, so authentication is off (env BERTH_OPEN)" };
var tlsCertOption = new Option<string?>("--tls-cert") { Description = "serve HTTPS with this PEM certificate (chain) file (env BERTH_TLS_CERT)" };
var tlsKeyOption = new Option<string?>("--tls-key") { Description = "the PEM private key of --tls-cert (env BERTH_TLS_KEY)" };

var serve = new Command("serve", "Run the registry") { configOption, listenOption, dataOption, openOption, tlsCertOption, tlsKeyOption };
serve.SetAction(async (parse, ct) =>
{
    var file = parse.GetValue(configOption) ?? Environment.GetEnvironmentVariable("BERTH_CONFIG") ?? (File.Exists("berth.yml") ? "berth.yml" : null);
    var (options, errors) = ConfigLoader.Load(file, Environment.GetEnvironmentVariable,
        new ConfigLoader.Overrides(parse.GetValue(listenOption), parse.GetValue(dataOption), parse.GetValue(openOption),
            parse.GetValue(tlsCertOption), parse.GetValue(tlsKeyOption)));
    if (options is null)
    {
        foreach (var e in errors) Console.Error.WriteLine($"berth: {file ?? "configuration"}: {e}");
        return 2;
    }
    WebApplication app;
    try
    {
        app = await ServerHost.BuildAsync(options, ct);
        await app.StartAsync(ct);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException
        or System.Security.Cryptography.CryptographicException or Berth.Core.RegistryException)
    {
        // A start-up failure is the operator's to fix (port taken, data directory unwritable): say what, not where in the code.
        Console.Error.WriteLine($"berth: cannot start: {e.Message}");
        return 1;
    }
    await using (app)
    {
        app.Logger.LogInformation("Berth {Version} listening on {Urls}, data in {Data}", Version(), string.Join(", ", app.Urls), Path.GetFullPath(options.Data));
        if (await app.Services.GetRequiredService<Berth.Core.Access.AccessControl>().IsEnabledAsync(ct))
        {
            app.Logger.LogInformation("Authentication is on: anonymous callers may pull public repositories only; sign in at {Realm}", "/token");
        }
        else
        {
            app.Logger.LogWarning("Authentication is off (no user exists): anyone who can reach {Urls} may push and pull. Set BERTH_ADMIN_PASSWORD or run 'berth user add' to turn it on",
                string.Join(", ", app.Urls));
        }
        await app.WaitForShutdownAsync(ct);
        // What garbage collection cost over the process's life: what the GC settings were chosen by (docs/benchmarks.md).
        app.Logger.LogInformation("Stopped; GC collections {Gen0}/{Gen1}/{Gen2} (gen0/1/2), {PauseMs} ms paused in total, working set {WorkingSetMiB} MiB",
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), (long)GC.GetTotalPauseDuration().TotalMilliseconds,
            Environment.WorkingSet >> 20);
    }
    return 0;
});

var fileArgument = new Argument<string>("file") { Description = "the configuration file to validate" };
var check = new Command("check", "Validate a configuration file without starting the server") { fileArgument };
check.SetAction(parse =>
{
    var file = parse.GetValue(fileArgument)!;
    var (options, errors) = ConfigLoader.Load(file, _ => null, new ConfigLoader.Overrides());
    if (options is null)
    {
        foreach (var e in errors) Console.Error.WriteLine($"{file}: {e}");
        return 1;
    }
    Console.WriteLine($"{file}: ok (listen {options.Listen}, data {options.Data})");
    return 0;
});
var config = new Command("config", "Work with configuration files") { check };

var root = new RootCommand("Berth: a container image registry (OCI Distribution API)") { serve, config };
foreach (var command in Berth.Cli.Commands()) root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();

static string Version() =>
    typeof(ServerHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
