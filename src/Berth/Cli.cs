using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Hosting;

namespace Berth;

/// <summary>
/// The command line: <c>serve</c>, <c>config check</c>, and the account verbs (user, org, team, grant, robot, token, repo,
/// namespace, audit), which use the same account services as the management API, on the data directory
/// directly, with the operator's rights. A running server sees their changes within a few seconds (its access cache expires).
/// Exit codes are <see cref="ExitCodes"/>; every error is one line that starts with the whole command.
/// </summary>
internal sealed partial class Cli(TextReader input, TextWriter output, TextWriter error, TimeProvider time)
{
    private static readonly Option<string?> ConfigOption = new("--config", "-c") { Description = "configuration file (default: ./berth.yml when present, or BERTH_CONFIG)" };

    /// <summary>The flags of the settings that have one (<see cref="Settings"/>); serve takes them all, the verbs --data.</summary>
    private static readonly IReadOnlyList<(Setting Setting, Option Option)> SettingFlags = [.. Settings.All.Where(s => s.Flag is not null).Select(s =>
    {
        var help = $"{s.Description.Replace("`", "")} (default {s.Default.Replace("`", "")}; env {s.Env})";
        return (s, s.IsSwitch ? (Option)new Option<bool>(s.Flag!) { Description = help } : new Option<string?>(s.Flag!) { Description = help });
    })];

    private static readonly Option DataOption = SettingFlags.Single(f => f.Setting.Path == "data").Option;

    public async Task<int> RunAsync(string[] args, CancellationToken ct = default)
    {
        // "berth help [COMMAND...]" is "berth [COMMAND...] --help".
        if (args is ["help", .. var rest]) args = [.. rest, "--help"];
        var parse = Root().Parse(args);
        if (parse.Errors.Count > 0)
        {
            var command = CommandPath(parse.CommandResult);
            var message = string.Join(' ', parse.Errors[0].Message.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');
            error.WriteLine($"{command}: {message} (see '{command} --help')");
            return ExitCodes.Usage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, ct);
    }

    private RootCommand Root()
    {
        var root = new RootCommand("Berth: a container image registry (OCI Distribution API)") { Serve(), Config(), Migrate(), Import(), Export(), Gc() };
        foreach (var command in AccountVerbs()) root.Subcommands.Add(command);
        foreach (var command in PolicyVerbs()) root.Subcommands.Add(command);
        return root;
    }

    /// <summary>"berth org add", from the command the parser settled on.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent) names.Add(c.Command is RootCommand ? "berth" : c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>
    /// The one way serve and every verb read their configuration: the file resolved once, the environment, the flags
    /// given. Errors are written, one line each, and null returned.
    /// </summary>
    private BerthOptions? LoadOptions(ParseResult parse, bool checkFiles)
    {
        var file = ConfigLoader.ResolveFile(parse.GetValue(ConfigOption), Environment.GetEnvironmentVariable);
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (setting, option) in SettingFlags)
        {
            if (parse.GetResult(option) is not { Implicit: false }) continue;
            if (option is Option<bool> flag) { if (parse.GetValue(flag)) flags[setting.Name] = "true"; }
            else if (parse.GetValue((Option<string?>)option) is { } value) flags[setting.Name] = value;
        }
        var (options, errors) = ConfigLoader.Load(file, Environment.GetEnvironmentVariable, flags);
        if (options is not null && checkFiles) errors = ConfigLoader.CheckFiles(options);
        if (options is not null && errors.Count == 0) return options;
        foreach (var e in errors) error.WriteLine($"{CommandPath(parse.CommandResult)}: {file ?? "configuration"}: {e}");
        return null;
    }

    private Command Serve()
    {
        var serve = new Command("serve", "Run the registry") { ConfigOption };
        foreach (var (_, option) in SettingFlags) serve.Options.Add(option);
        serve.SetAction(async (parse, ct) =>
        {
            var name = CommandPath(parse.CommandResult);
            if (LoadOptions(parse, checkFiles: true) is not { } options) return ExitCodes.Usage;
            WebApplication app;
            try
            {
                app = await ServerHost.BuildAsync(options, time, ct);
                await app.StartAsync(ct);
            }
            catch (StartupException e)
            {
                error.WriteLine($"{name}: {e.Message}");
                return e.ExitCode;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException
                or System.Security.Cryptography.CryptographicException or RegistryException)
            {
                // A start-up failure is the operator's to fix (port taken, address not on this machine): say what, not where in the code.
                error.WriteLine($"{name}: cannot start: {(e.InnerException as System.Net.Sockets.SocketException ?? e).Message}");
                return ExitCodes.Failed;
            }
            await using (app)
            {
                app.Logger.LogInformation("Berth {Version} listening on {Urls}, data in {Data}", Version(), string.Join(", ", app.Urls), Path.GetFullPath(options.Data));
                var accounts = app.Services.GetRequiredService<Administration>();
                if (await accounts.IsAuthenticationOnAsync(ct))
                {
                    app.Logger.LogInformation("Authentication is on: anonymous callers may pull public repositories only; sign in at {Realm}", "/token");
                    if (await accounts.AdminOnlyRepositoriesNoticeAsync(ct) is { } notice) app.Logger.LogWarning("{Notice}", notice);
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
            return ExitCodes.Ok;
        });
        return serve;
    }

    private Command Migrate()
    {
        var to = new Option<string>("--to") { Description = "the cluster's configuration file (metadata.type postgres; storage s3 or filesystem); its secrets may come from the environment", Required = true };
        var migrate = new Command("migrate", "Copy a single node's data directory (SQLite, filesystem blobs) into the PostgreSQL database and blob storage a cluster configuration names, checking every blob by digest") { ConfigOption, DataOption, to };
        migrate.SetAction(async (parse, ct) =>
        {
            var name = CommandPath(parse.CommandResult);
            if (LoadOptions(parse, checkFiles: false) is not { } source) return ExitCodes.Usage;
            var file = parse.GetValue(to)!;
            var (target, errors) = ConfigLoader.Load(file, Environment.GetEnvironmentVariable);
            if (target is null || errors.Count > 0)
            {
                foreach (var e in errors) error.WriteLine($"{name}: {file}: {e}");
                return ExitCodes.Usage;
            }
            try
            {
                await Migration.RunAsync(source, target, time, output, ct);
                return ExitCodes.Ok;
            }
            catch (StartupException e)
            {
                error.WriteLine($"{name}: {e.Message}");
                return e.ExitCode;
            }
        });
        return migrate;
    }

    private Command Config()
    {
        var fileArgument = new Argument<string>("file") { Description = "the configuration file to validate" };
        var check = new Command("check", "Validate a configuration file without starting the server: keys, values, and that the TLS files can be read and parsed") { fileArgument };
        check.SetAction(parse =>
        {
            var file = parse.GetValue(fileArgument)!;
            var (options, errors) = ConfigLoader.Load(file, _ => null);
            if (options is not null) errors = ConfigLoader.CheckFiles(options);
            if (options is null || errors.Count > 0)
            {
                foreach (var e in errors) error.WriteLine($"{file}: {e}");
                return ExitCodes.Usage;
            }
            output.WriteLine($"{file}: ok (listen {options.Listen}, data {options.Data})");
            return ExitCodes.Ok;
        });
        var keys = new Command("keys", "Print every configuration key: berth.yml path, environment variable, flag, default, meaning (the README's table)");
        keys.SetAction(_ =>
        {
            foreach (var line in Settings.MarkdownTable()) output.WriteLine(line);
            return ExitCodes.Ok;
        });
        return new Command("config", "Work with configuration files") { check, keys };
    }

    private IEnumerable<Command> AccountVerbs()
    {
        var user = new Argument<string>("user") { Description = "the user's name" };
        var accountName = new Argument<string>("name") { Description = "the account's name (a user, robot or organisation)" };
        var admin = new Option<bool>("--admin") { Description = "make the user a site administrator" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "read the password from standard input (default: generate and print one)" };
        var onOff = new Argument<string>("on|off") { Description = "on: a site administrator (every right everywhere); off: an ordinary user" };
        onOff.AcceptOnlyFromAmong("on", "off");
        yield return Group("user", "Manage users",
            Verb("add", "Create a user", [user, admin, passwordStdin], async (p, s, ct) =>
            {
                var name = p.GetValue(user)!;
                var (password, generated) = Password(p.GetValue(passwordStdin));
                var wasOpen = !await s.Admin.IsAuthenticationOnAsync(ct);
                await s.Admin.CreateUserAsync(AccountRules.Operator, name, password, p.GetValue(admin), ct);
                var what = $"created user {name}{(p.GetValue(admin) ? " (site administrator)" : "")}";
                output.WriteLine(generated ? $"{what} with password: {password}" : what);
                if (wasOpen)
                {
                    error.WriteLine("authentication is now on: anonymous callers may pull public repositories only");
                    if (await s.Admin.AdminOnlyRepositoriesNoticeAsync(ct) is { } notice) error.WriteLine(notice);
                }
            }),
            Verb("passwd", "Set a user's password", [user, passwordStdin], async (p, s, ct) =>
            {
                var (password, generated) = Password(p.GetValue(passwordStdin));
                await s.Admin.SetPasswordAsync(AccountRules.Operator, p.GetValue(user)!, password, ct);
                output.WriteLine(generated ? $"new password for {p.GetValue(user)}: {password}" : $"changed the password of {p.GetValue(user)}");
            }),
            Verb("admin", "Make a user a site administrator, or not", [user, onOff], async (p, s, ct) =>
            {
                var on = p.GetValue(onOff) == "on";
                await s.Admin.SetAdminAsync(AccountRules.Operator, p.GetValue(user)!, on, ct);
                output.WriteLine(on ? $"{p.GetValue(user)} is a site administrator" : $"{p.GetValue(user)} is not a site administrator");
            }),
            Verb("list", "List accounts: users, robots and organisations", [], async (p, s, ct) =>
            {
                foreach (var a in await s.Admin.ListAccountsAsync(AccountRules.Operator, null, ct))
                {
                    output.WriteLine($"{a.Name}\t{a.Kind.ToString().ToLowerInvariant()}{(a.IsAdmin ? "\tadmin" : "")}");
                }
            }),
            Verb("delete", "Delete a user, robot or organisation, with its memberships, grants and tokens", [accountName], async (p, s, ct) =>
            {
                await s.Admin.DeleteAccountAsync(AccountRules.Operator, p.GetValue(accountName)!, ct);
                output.WriteLine($"deleted {p.GetValue(accountName)}");
            }));

        var org = new Argument<string>("organisation") { Description = "the organisation's name (also its namespace)" };
        var member = new Argument<string>("user") { Description = "the member's user name" };
        var owner = new Option<string?>("--owner") { Description = "the user who owns it (an admin of its namespace)" };
        var asOwner = new Option<bool>("--owner") { Description = "as an owner of the organisation (an admin of its namespace)" };
        yield return Group("org", "Manage organisations",
            Verb("add", "Create an organisation", [org, owner], async (p, s, ct) =>
            {
                await s.Admin.CreateOrganizationAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(owner), ct);
                output.WriteLine($"created organisation {p.GetValue(org)}{(p.GetValue(owner) is { } o ? $" (owner {o})" : "")}");
            }),
            Group("member", "Organisation members",
                Verb("add", "Add a member, or change whether it is an owner", [org, member, asOwner], async (p, s, ct) =>
                {
                    await s.Admin.SetMemberAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(member)!, p.GetValue(asOwner), ct);
                    output.WriteLine($"{p.GetValue(member)} is {(p.GetValue(asOwner) ? "an owner" : "a member")} of {p.GetValue(org)}");
                }),
                Verb("remove", "Remove a member (also from the organisation's teams)", [org, member], async (p, s, ct) =>
                {
                    await s.Admin.RemoveMemberAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(member)!, ct);
                    output.WriteLine($"removed {p.GetValue(member)} from {p.GetValue(org)}");
                })));

        var team = new Argument<string>("team") { Description = "the team's name within the organisation" };
        yield return Group("team", "Manage teams of an organisation",
            Verb("add", "Create a team", [org, team], async (p, s, ct) =>
            {
                await s.Admin.CreateTeamAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(team)!, ct);
                output.WriteLine($"created team {p.GetValue(org)}/{p.GetValue(team)}");
            }),
            Verb("delete", "Delete a team and its grants", [org, team], async (p, s, ct) =>
            {
                await s.Admin.DeleteTeamAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(team)!, ct);
                output.WriteLine($"deleted team {p.GetValue(org)}/{p.GetValue(team)}");
            }),
            Group("member", "Team members",
                Verb("add", "Add a member", [org, team, member], async (p, s, ct) =>
                {
                    await s.Admin.AddTeamMemberAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(team)!, p.GetValue(member)!, ct);
                    output.WriteLine($"added {p.GetValue(member)} to team {p.GetValue(org)}/{p.GetValue(team)}");
                }),
                Verb("remove", "Remove a member", [org, team, member], async (p, s, ct) =>
                {
                    await s.Admin.RemoveTeamMemberAsync(AccountRules.Operator, p.GetValue(org)!, p.GetValue(team)!, p.GetValue(member)!, ct);
                    output.WriteLine($"removed {p.GetValue(member)} from team {p.GetValue(org)}/{p.GetValue(team)}");
                })));

        var role = new Argument<string>("role") { Description = "read (pull), write (pull, push), admin (also delete, settings, grants), or none to revoke" };
        role.AcceptOnlyFromAmong("read", "write", "admin", "none");
        var subject = new Argument<string>("subject") { Description = "user:NAME (a user or robot) or team:ORG/TEAM" };
        var target = new Argument<string>("target") { Description = "a repository (acme/api), or a namespace with --namespace" };
        var isNamespace = new Option<bool>("--namespace") { Description = "the target is a namespace: the grant covers every repository in it" };
        yield return Verb("grant", "Grant a role on a repository or namespace", [role, subject, target, isNamespace], async (p, s, ct) =>
        {
            var text = p.GetValue(role)!;
            var r = AccountRules.ParseRole(text);
            var where = $"{(p.GetValue(isNamespace) ? "namespace" : "repository")} {p.GetValue(target)}";
            await s.Admin.SetGrantAsync(AccountRules.Operator, p.GetValue(target)!, p.GetValue(isNamespace), p.GetValue(subject)!, r, ct);
            output.WriteLine(r == Role.None ? $"revoked the grant of {p.GetValue(subject)} on {where}" : $"granted {text} on {where} to {p.GetValue(subject)}");
        });

        var ns = new Argument<string>("namespace") { Description = "a user's or organisation's namespace (acme in acme/api)" };
        var robotName = new Argument<string>("name") { Description = "the robot's name; the account is NAMESPACE+NAME" };
        yield return Group("robot", "Robot accounts (CI, Kubernetes): NAMESPACE+NAME, signing in with tokens only",
            Verb("add", "Create a robot in a namespace", [ns, robotName], async (p, s, ct) =>
            {
                var robot = await s.Admin.CreateRobotAsync(AccountRules.Operator, p.GetValue(ns)!, p.GetValue(robotName)!, ct);
                output.WriteLine($"created robot {robot.Name}; give it a token: berth token create {robot.Name} --name ci --scope '{p.GetValue(ns)}/*:pull'");
            }));

        var account = new Argument<string>("account") { Description = "the user or robot the token signs in as" };
        var tokenName = new Option<string>("--name") { Description = "what the token is for", DefaultValueFactory = _ => "token" };
        var scope = new Option<string[]>("--scope")
        {
            Description = "PATTERN:ACTIONS, at least one, repeatable: acme/api:pull, 'acme/*:pull,push', '*:pull'; '*:*' for everything the account may do",
            AllowMultipleArgumentsPerToken = false,
        };
        var expires = new Option<string?>("--expires") { Description = "lifetime such as 30d or 12h (default: no expiry)" };
        var id = new Argument<string>("id") { Description = "the token's id (berth token list)" };
        yield return Group("token", "Access tokens: usable as the password of docker login",
            Verb("create", "Create a token and print it once", [account, tokenName, scope, expires], async (p, s, ct) =>
            {
                var scopes = AccountRules.ParseScopes(p.GetValue(scope) ?? []);
                DateTimeOffset? until = null;
                if (p.GetValue(expires) is { } e)
                {
                    until = AccountRules.ParseExpiry(e, time.GetUtcNow(), "--expires");
                }
                var issued = await s.Tokens.CreateTokenAsync(AccountRules.Operator, p.GetValue(account)!, p.GetValue(tokenName)!, scopes, until, ct);
                output.WriteLine(issued.Secret);
                error.WriteLine($"created token {issued.Token.Id} for {issued.Token.Account} ({string.Join(' ', scopes)}){(until is { } u ? $", expires {u:u}" : "")}; it is not shown again");
            }),
            Verb("list", "List an account's tokens", [account], async (p, s, ct) =>
            {
                foreach (var t in await s.Tokens.ListTokensAsync(AccountRules.Operator, p.GetValue(account)!, ct))
                {
                    var state = t.Revoked is not null ? "revoked" : t.Expires is { } x && x <= time.GetUtcNow() ? "expired" : "active";
                    output.WriteLine($"{t.Id}\t{t.Name}\t{state}\t{string.Join(' ', t.Scopes)}\t{t.Expires?.ToString("u") ?? "no expiry"}");
                }
            }),
            Verb("revoke", "Revoke a token", [id], async (p, s, ct) =>
            {
                await s.Tokens.RevokeTokenAsync(AccountRules.Operator, p.GetValue(id)!, ct);
                output.WriteLine($"revoked token {p.GetValue(id)}");
            }));

        var repository = new Argument<string>("repository") { Description = "the repository's name, such as acme/api" };
        var visibility = new Argument<string>("visibility") { Description = "public (anyone may pull) or private" };
        visibility.AcceptOnlyFromAmong("public", "private");
        yield return Group("repo", "Repository settings",
            Verb("visibility", "Make a repository public or private", [repository, visibility], async (p, s, ct) =>
            {
                await s.Admin.SetVisibilityAsync(AccountRules.Operator, p.GetValue(repository)!, AccountRules.ParseVisibility(p.GetValue(visibility)!), ct);
                output.WriteLine($"{p.GetValue(repository)} is {p.GetValue(visibility)}");
            }));
        yield return Group("namespace", "Namespace settings",
            Verb("visibility", "The visibility of repositories created in a namespace from now on", [ns, visibility], async (p, s, ct) =>
            {
                await s.Admin.SetDefaultVisibilityAsync(AccountRules.Operator, p.GetValue(ns)!, AccountRules.ParseVisibility(p.GetValue(visibility)!), ct);
                output.WriteLine($"repositories created in {p.GetValue(ns)} from now on are {p.GetValue(visibility)}");
            }));

        var official = new Argument<string>("target") { Description = "a repository (acme/api), or a namespace with --namespace" };
        var officialNamespace = new Option<bool>("--namespace") { Description = "the target is a namespace: every repository in it is official" };
        Command Mark(string verb, bool on) => Verb(verb, on ? "Mark a repository or namespace official" : "Remove an official mark", [official, officialNamespace], async (p, s, ct) =>
        {
            await s.Admin.SetOfficialAsync(AccountRules.Operator, p.GetValue(official)!, p.GetValue(officialNamespace), on, ct);
            output.WriteLine($"{(p.GetValue(officialNamespace) ? "namespace " : "")}{p.GetValue(official)} is {(on ? "" : "not ")}marked official");
        });
        yield return Group("official", "Official repositories and namespaces, ranked first in search (library/ always is)",
            Mark("on", true), Mark("off", false),
            Verb("list", "List the official marks", [], async (p, s, ct) =>
            {
                foreach (var m in await s.Admin.ListOfficialAsync(AccountRules.Operator, ct)) output.WriteLine($"{(m.IsNamespace ? "namespace" : "repository")}\t{m.Target}");
            }));

        var actor = new Option<string?>("--actor") { Description = "only events by this account" };
        var action = new Option<string?>("--action") { Description = "only this action: login, push, delete, token.create, grant, ..." };
        var limit = new Option<int>("--limit") { Description = "at most this many events, 1 to 1000 (default 50)", DefaultValueFactory = _ => 50 };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1000) r.AddError("--limit must be from 1 to 1000");
        });
        yield return Verb("audit", "Show the audit log, newest first", [actor, action, limit], async (p, s, ct) =>
        {
            foreach (var e in await s.Audit.QueryAsync(AccountRules.Operator, new AuditQuery(p.GetValue(actor), p.GetValue(action), Limit: p.GetValue(limit)), ct))
            {
                output.WriteLine($"{e.Time:yyyy-MM-ddTHH:mm:ssZ}\t{e.Actor}\t{e.Address}\t{e.Action}\t{e.Target}\t{(e.Success ? "ok" : "FAILED")}\t{e.Detail}");
            }
        });
    }

    private (string Password, bool Generated) Password(bool fromStdin)
    {
        if (fromStdin) return ((input.ReadLine() ?? "").TrimEnd('\r', '\n'), false);
        return (Core.Access.Secrets.Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18)), true);
    }

    private static Command Group(string name, string description, params Command[] children)
    {
        var command = new Command(name, description);
        foreach (var c in children) command.Subcommands.Add(c);
        return command;
    }

    private Command Verb(string name, string description, Symbol[] symbols, Func<ParseResult, AccessServices, CancellationToken, Task> run) =>
        BackendVerb(name, description, symbols, (parse, options, backends, ct) => run(parse, backends.AccessServices(options, time), ct));

    /// <summary>A verb on an existing registry's stores: the configuration and data options, the stores opened (never created), failures as one line and an exit code.</summary>
    private Command BackendVerb(string name, string description, Symbol[] symbols, Func<ParseResult, BerthOptions, Backends, CancellationToken, Task> run)
    {
        var command = new Command(name, description);
        foreach (var s in symbols)
        {
            if (s is Argument a) command.Arguments.Add(a);
            else if (s is Option o) command.Options.Add(o);
        }
        command.Options.Add(ConfigOption);
        command.Options.Add(DataOption);
        command.SetAction(async (parse, ct) =>
        {
            var path = CommandPath(parse.CommandResult);
            if (LoadOptions(parse, checkFiles: false) is not { } options) return ExitCodes.Usage;
            try
            {
                var notices = new List<string>();
                var backends = await Backends.OpenAsync(options, create: false, time, notices, ct);
                foreach (var notice in notices) error.WriteLine($"{path}: {notice}");
                await run(parse, options, backends, ct);
                return ExitCodes.Ok;
            }
            catch (StartupException e)
            {
                error.WriteLine($"{path}: {e.Message}");
                return e.ExitCode;
            }
            catch (RegistryException e)
            {
                error.WriteLine($"{path}: {e.Message}");
                return e.Code is ErrorCode.InvalidRequest or ErrorCode.NameInvalid ? ExitCodes.Usage : ExitCodes.Failed;
            }
        });
        return command;
    }

    public static string Version() =>
        typeof(ServerHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
