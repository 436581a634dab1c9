using System.CommandLine;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Metadata;

namespace Berth;

/// <summary>
/// The account verbs (user, org, team, grant, robot, token, repo, namespace, audit): the same
/// <see cref="AccountService"/> as the management API, on the data directory directly, with the operator's rights.
/// A running server sees the change within a few seconds (its access cache expires).
/// </summary>
internal static class Cli
{
    private static readonly Option<string?> ConfigOption = new("--config", "-c") { Description = "configuration file (for the data directory)" };
    private static readonly Option<string?> DataOption = new("--data") { Description = "data directory (default ./data; env BERTH_DATA)" };

    public static IEnumerable<Command> Commands()
    {
        var name = new Argument<string>("name");
        var admin = new Option<bool>("--admin") { Description = "a site administrator" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "read the password from standard input (default: generate and print one)" };
        yield return Group("user", "Manage users",
            Verb("add", "Create a user", [name, admin, passwordStdin], async (p, s, ct) =>
            {
                var (password, generated) = Password(p.GetValue(passwordStdin));
                await s.CreateUserAsync(AccountService.Operator, p.GetValue(name)!, password, p.GetValue(admin), ct);
                Console.WriteLine(generated ? $"created {p.GetValue(name)} with password: {password}" : $"created {p.GetValue(name)}");
            }),
            Verb("passwd", "Set a user's password", [name, passwordStdin], async (p, s, ct) =>
            {
                var (password, generated) = Password(p.GetValue(passwordStdin));
                await s.SetPasswordAsync(AccountService.Operator, p.GetValue(name)!, password, ct);
                Console.WriteLine(generated ? $"new password for {p.GetValue(name)}: {password}" : "password changed");
            }),
            Verb("list", "List accounts", [], async (p, s, ct) =>
            {
                foreach (var a in await s.ListAccountsAsync(AccountService.Operator, null, ct))
                {
                    Console.WriteLine($"{a.Name}\t{a.Kind.ToString().ToLowerInvariant()}{(a.IsAdmin ? "\tadmin" : "")}");
                }
            }),
            Verb("delete", "Delete a user, robot or organisation", [name], (p, s, ct) => s.DeleteAccountAsync(AccountService.Operator, p.GetValue(name)!, ct)));

        var org = new Argument<string>("organization");
        var user = new Argument<string>("user");
        var owner = new Option<string?>("--owner") { Description = "the user who owns it" };
        var asOwner = new Option<bool>("--owner") { Description = "as an owner of the organisation" };
        yield return Group("org", "Manage organisations",
            Verb("add", "Create an organisation", [org, owner], async (p, s, ct) =>
            {
                await s.CreateOrganizationAsync(AccountService.Operator, p.GetValue(org)!, ct);
                if (p.GetValue(owner) is { } o) await s.SetMemberAsync(AccountService.Operator, p.GetValue(org)!, o, true, ct);
            }),
            Group("member", "Organisation members",
                Verb("add", "Add or update a member", [org, user, asOwner], (p, s, ct) => s.SetMemberAsync(AccountService.Operator, p.GetValue(org)!, p.GetValue(user)!, p.GetValue(asOwner), ct)),
                Verb("remove", "Remove a member", [org, user], (p, s, ct) => s.RemoveMemberAsync(AccountService.Operator, p.GetValue(org)!, p.GetValue(user)!, ct))));

        var team = new Argument<string>("team");
        yield return Group("team", "Manage teams of an organisation",
            Verb("add", "Create a team", [org, team], (p, s, ct) => s.CreateTeamAsync(AccountService.Operator, p.GetValue(org)!, p.GetValue(team)!, ct)),
            Verb("delete", "Delete a team", [org, team], (p, s, ct) => s.DeleteTeamAsync(AccountService.Operator, p.GetValue(org)!, p.GetValue(team)!, ct)),
            Group("member", "Team members",
                Verb("add", "Add a member", [org, team, user], (p, s, ct) => s.AddTeamMemberAsync(AccountService.Operator, p.GetValue(org)!, p.GetValue(team)!, p.GetValue(user)!, ct)),
                Verb("remove", "Remove a member", [org, team, user], (p, s, ct) => s.RemoveTeamMemberAsync(AccountService.Operator, p.GetValue(org)!, p.GetValue(team)!, p.GetValue(user)!, ct))));

        var role = new Argument<string>("role") { Description = "read, write, admin, or none to revoke" };
        var subject = new Argument<string>("subject") { Description = "user:NAME or team:ORG/TEAM" };
        var target = new Argument<string>("target") { Description = "a repository (acme/api), or a namespace with --namespace" };
        var isNamespace = new Option<bool>("--namespace") { Description = "the target is a namespace: the grant covers every repository in it" };
        yield return Verb("grant", "Grant a role on a repository or namespace", [role, subject, target, isNamespace], (p, s, ct) =>
        {
            var text = p.GetValue(role)!;
            var r = Role.None;
            if (text != "none" && !AccessText.TryParseRole(text, out r)) throw new RegistryException(ErrorCode.InvalidRequest, "role must be read, write, admin or none");
            return s.SetGrantAsync(AccountService.Operator, p.GetValue(target)!, p.GetValue(isNamespace), p.GetValue(subject)!, r, ct);
        });

        var ns = new Argument<string>("namespace");
        yield return Group("robot", "Robot accounts (CI, Kubernetes): NAMESPACE+NAME, signing in with tokens only",
            Verb("add", "Create a robot in a namespace", [ns, name], async (p, s, ct) =>
            {
                var robot = await s.CreateRobotAsync(AccountService.Operator, p.GetValue(ns)!, p.GetValue(name)!, ct);
                Console.WriteLine($"created {robot.Name}; give it a token: berth token create {robot.Name} --name ci --scope '{p.GetValue(ns)}/*:pull'");
            }));

        var account = new Argument<string>("account") { Description = "the user or robot the token signs in as" };
        var tokenName = new Option<string>("--name") { Description = "what the token is for", DefaultValueFactory = _ => "token" };
        var scope = new Option<string[]>("--scope") { Description = "PATTERN:ACTIONS, repeatable: acme/api:pull, acme/*:pull,push, *:pull (default *:pull,push,delete)", AllowMultipleArgumentsPerToken = false };
        var expires = new Option<string?>("--expires") { Description = "lifetime such as 30d or 12h (default: no expiry)" };
        var id = new Argument<string>("id");
        yield return Group("token", "Access tokens: usable as the password of docker login",
            Verb("create", "Create a token and print it once", [account, tokenName, scope, expires], async (p, s, ct) =>
            {
                var texts = p.GetValue(scope) is { Length: > 0 } given ? given : ["*:pull,push,delete"];
                var scopes = texts.Select(t => TokenScope.Parse(t) ?? throw new RegistryException(ErrorCode.InvalidRequest, $"scope \"{t}\" is not PATTERN:ACTIONS")).ToList();
                DateTimeOffset? until = null;
                if (p.GetValue(expires) is { } e)
                {
                    if (!ConfigLoader.TryParseDuration(e, out var span) || span <= TimeSpan.Zero) throw new RegistryException(ErrorCode.InvalidRequest, "--expires must be a duration such as 30d");
                    until = DateTimeOffset.UtcNow + span;
                }
                var issued = await s.CreateTokenAsync(AccountService.Operator, p.GetValue(account)!, p.GetValue(tokenName)!, scopes, until, ct);
                Console.WriteLine(issued.Secret);
                Console.Error.WriteLine($"token {issued.Token.Id} for {issued.Token.Account} ({string.Join(' ', scopes)}){(until is { } u ? $", expires {u:u}" : "")}; it is not shown again");
            }),
            Verb("list", "List an account's tokens", [account], async (p, s, ct) =>
            {
                foreach (var t in await s.ListTokensAsync(AccountService.Operator, p.GetValue(account)!, ct))
                {
                    var state = t.Revoked is not null ? "revoked" : t.Expires is { } x && x <= DateTimeOffset.UtcNow ? "expired" : "active";
                    Console.WriteLine($"{t.Id}\t{t.Name}\t{state}\t{string.Join(' ', t.Scopes)}\t{t.Expires?.ToString("u") ?? "no expiry"}");
                }
            }),
            Verb("revoke", "Revoke a token", [id], (p, s, ct) => s.RevokeTokenAsync(AccountService.Operator, p.GetValue(id)!, ct)));

        var repository = new Argument<string>("repository");
        var visibility = new Argument<string>("visibility") { Description = "public or private" };
        yield return Group("repo", "Repository settings",
            Verb("visibility", "Make a repository public or private", [repository, visibility], (p, s, ct) =>
                s.SetVisibilityAsync(AccountService.Operator, p.GetValue(repository)!, ParseVisibility(p.GetValue(visibility)!), ct)));
        yield return Group("namespace", "Namespace settings",
            Verb("visibility", "The visibility of repositories created in a namespace from now on", [ns, visibility], (p, s, ct) =>
                s.SetDefaultVisibilityAsync(AccountService.Operator, p.GetValue(ns)!, ParseVisibility(p.GetValue(visibility)!), ct)));

        var actor = new Option<string?>("--actor");
        var action = new Option<string?>("--action") { Description = "login, push, delete, token.create, grant, ..." };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 50 };
        yield return Verb("audit", "Show the audit log, newest first", [actor, action, limit], async (p, s, ct) =>
        {
            foreach (var e in await s.QueryAuditAsync(AccountService.Operator, new AuditQuery(p.GetValue(actor), p.GetValue(action), Limit: p.GetValue(limit)), ct))
            {
                Console.WriteLine($"{e.Time:yyyy-MM-ddTHH:mm:ssZ}\t{e.Actor}\t{e.Address}\t{e.Action}\t{e.Target}\t{(e.Success ? "ok" : "FAILED")}\t{e.Detail}");
            }
        });
    }

    private static Visibility ParseVisibility(string text) =>
        AccessText.TryParseVisibility(text, out var v) ? v : throw new RegistryException(ErrorCode.InvalidRequest, "visibility must be public or private");

    private static (string Password, bool Generated) Password(bool fromStdin)
    {
        if (fromStdin) return ((Console.In.ReadLine() ?? "").TrimEnd('\r', '\n'), false);
        return (Core.Access.Secrets.Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18)), true);
    }

    private static Command Group(string name, string description, params Command[] children)
    {
        var command = new Command(name, description);
        foreach (var c in children) command.Subcommands.Add(c);
        return command;
    }

    private static Command Verb(string name, string description, Symbol[] symbols, Func<ParseResult, AccountService, CancellationToken, Task> run)
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
            var file = parse.GetValue(ConfigOption) ?? Environment.GetEnvironmentVariable("BERTH_CONFIG") ?? (File.Exists("berth.yml") ? "berth.yml" : null);
            var (options, errors) = ConfigLoader.Load(file, Environment.GetEnvironmentVariable, new ConfigLoader.Overrides(Data: parse.GetValue(DataOption)));
            if (options is null)
            {
                foreach (var e in errors) Console.Error.WriteLine($"berth: {file ?? "configuration"}: {e}");
                return 2;
            }
            try
            {
                var database = new SqliteDatabase(Path.Combine(Path.GetFullPath(options.Data), "berth.db"));
                await new SqliteMetadataStore(database).MigrateAsync(ct);
                var store = new SqliteAccountStore(database);
                var service = new AccountService(store, new SqliteAuditStore(database), new AccessControl(store, TimeProvider.System),
                    new LoginThrottle(TimeProvider.System, options.LoginMaxFailures, options.LoginLockout), TimeProvider.System);
                await run(parse, service, ct);
                return 0;
            }
            catch (RegistryException e)
            {
                Console.Error.WriteLine($"berth {name}: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
