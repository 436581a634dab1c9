using Berth.Core;
using Berth.Core.Access;
using Berth.Hosting;

namespace Berth.Ui;

/// <summary>
/// Sign-in, a user's or organisation's page (its repositories; members and teams for those signed in), the signed-in
/// user's settings (access tokens, new organisation) and the site administrators' pages (users, jobs). Every change goes
/// through <see cref="Administration"/> or <see cref="TokenService"/>, which check the caller's rights as for the API.
/// </summary>
internal sealed class AccountPages(Administration admin, TokenService tokens, RepositoryDirectory directory, IAccounts accounts, RepositoryPages repositories,
    Scheduler scheduler, TimeProvider time)
{
    // ---- Sign in

    public async Task SignInFormAsync(PageContext p, string? error)
    {
        var body = new Html();
        body.Add($"<h1>Sign in</h1>");
        if (error is not null) body.Add($"<p class=\"notice error\" role=\"alert\">{error}</p>");
        body.Add($"""
            <form method="post" action="/signin">{p.CsrfField}<input type="hidden" name="return" value="{WebUi.SafeReturn(p.Query("return") is { Length: > 0 } r ? r : p.Field("return"))}">
            <label for="username">User name</label><input type="text" id="username" name="username" autocomplete="username" required value="{p.Field("username")}">
            <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
            <p><button type="submit">Sign in</button></p></form>
            """);
        await WebUi.WriteAsync(p, "Sign in", body, p.Http.Response.StatusCode is 401 or 429 ? p.Http.Response.StatusCode : 200);
    }

    // ---- /u/NAMESPACE

    public Task NamespaceRouteAsync(PageContext p, bool post, string rest)
    {
        var dash = rest.IndexOf("/-/", StringComparison.Ordinal);
        var ns = dash > 0 ? rest[..dash] : rest;
        if (!AccountRules.IsValidName(ns)) throw WebUi.NotFound();
        var action = dash > 0 ? rest[(dash + 3)..] : "";
        return (post, action) switch
        {
            (false, "") => NamespaceAsync(p, ns, null),
            (true, _) => OrganizationChangeAsync(p, ns, action),
            _ => throw WebUi.NotFound(),
        };
    }

    private async Task NamespaceAsync(PageContext p, string ns, string? notice)
    {
        var account = await accounts.GetAccountAsync(ns, p.Ct);
        // Repositories in the namespace the caller may pull: the catalog from "ns/" on, while the prefix holds.
        var names = (await directory.CatalogAsync(p.Caller, ns + "/", 100, p.Ct)).TakeWhile(n => n.StartsWith(ns + "/", StringComparison.Ordinal)).ToList();
        if (account is null or { Kind: AccountKind.Robot } && names.Count == 0) throw WebUi.NotFound();
        var body = new Html();
        var kind = account?.Kind switch { AccountKind.Organization => "organisation", AccountKind.User => "user", _ => "namespace" };
        body.Add($"<h1>{ns} <span class=\"badge\">{kind}</span></h1>");
        if (notice is not null) body.Add($"<p class=\"notice\" role=\"status\">{notice}</p>");
        body.Add($"<h2>Repositories</h2>");
        if (names.Count == 0) body.Add($"<p>No repositories you may see.</p>");
        else
        {
            body.Add($"<ul class=\"repos\">");
            foreach (var n in names)
            {
                if (await directory.GetAsync(p.Caller, n, p.Ct) is { } e) body.Add($"<li><a class=\"name\" href=\"/r/{n}\">{n}</a> {RepositoryPages.VisibilityBadge(e.Visibility)}</li>");
            }
            body.Add($"</ul>");
        }
        if (account is { Kind: AccountKind.Organization } && !p.Caller.IsAnonymous) await OrganizationSectionAsync(p, body, ns);
        await WebUi.WriteAsync(p, ns, body);
    }

    private async Task OrganizationSectionAsync(PageContext p, Html body, string org)
    {
        var members = await admin.ListMembersAsync(p.Caller, org, p.Ct);
        var teams = await admin.ListTeamsAsync(p.Caller, org, p.Ct);
        var owner = p.Caller.IsAdmin || members.Any(m => m.Owner && m.User == p.Caller.Name);
        body.Add($"<h2>Members</h2><div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">User</th><th scope=\"col\">Role</th>{(owner ? Html.Of($"<th scope=\"col\"><span class=\"muted\">Actions</span></th>") : default)}</tr></thead><tbody>");
        foreach (var m in members)
        {
            body.Add($"<tr><td><a href=\"/u/{m.User}\">{m.User}</a></td><td>{(m.Owner ? "owner" : "member")}</td>");
            if (owner) body.Add($"<td><form method=\"post\" action=\"/u/{org}/-/members/remove\">{p.CsrfField}<input type=\"hidden\" name=\"user\" value=\"{m.User}\"><button class=\"danger\" type=\"submit\" aria-label=\"Remove {m.User}\">Remove</button></form></td>");
            body.Add($"</tr>");
        }
        body.Add($"</tbody></table></div>");
        if (owner)
        {
            body.Add($"<form method=\"post\" action=\"/u/{org}/-/members\">{p.CsrfField}<label for=\"member\">Add or change a member</label><input type=\"text\" id=\"member\" name=\"user\" required>");
            body.Add($"<label><input type=\"checkbox\" name=\"owner\" value=\"true\"> owner</label><p><button type=\"submit\">Save member</button></p></form>");
        }
        body.Add($"<h2>Teams</h2>");
        if (teams.Count == 0) body.Add($"<p class=\"muted\">No teams.</p>");
        foreach (var t in teams)
        {
            body.Add($"<h3>{t.Name}</h3><p>{(t.Members.Count == 0 ? "No members." : string.Join(", ", t.Members))}</p>");
            if (owner)
            {
                body.Add($"<form method=\"post\" action=\"/u/{org}/-/teams/members\">{p.CsrfField}<input type=\"hidden\" name=\"team\" value=\"{t.Name}\"><label for=\"tm-{t.Name}\">Add a user to {t.Name}</label><input type=\"text\" id=\"tm-{t.Name}\" name=\"user\" required> <button type=\"submit\">Add</button></form>");
                body.Add($"<form method=\"post\" action=\"/u/{org}/-/teams/delete\">{p.CsrfField}<input type=\"hidden\" name=\"team\" value=\"{t.Name}\"><p><button class=\"danger\" type=\"submit\">Delete team {t.Name}</button></p></form>");
            }
        }
        if (owner)
        {
            body.Add($"<form method=\"post\" action=\"/u/{org}/-/teams\">{p.CsrfField}<label for=\"team\">New team</label><input type=\"text\" id=\"team\" name=\"team\" required> <button type=\"submit\">Create team</button></form>");
        }
    }

    private async Task OrganizationChangeAsync(PageContext p, string org, string action)
    {
        RepositoryPages.RequireSignedIn(p);
        var user = p.Field("user").Trim();
        var team = p.Field("team").Trim();
        var notice = action switch
        {
            "members" => await Do(admin.SetMemberAsync(p.Caller, org, user, p.Field("owner") == "true", p.Ct), $"{user} saved."),
            "members/remove" => await Do(admin.RemoveMemberAsync(p.Caller, org, user, p.Ct), $"{user} removed."),
            "teams" => await Do(admin.CreateTeamAsync(p.Caller, org, team, p.Ct), $"Team {team} created."),
            "teams/delete" => await Do(admin.DeleteTeamAsync(p.Caller, org, team, p.Ct), $"Team {team} deleted."),
            "teams/members" => await Do(admin.AddTeamMemberAsync(p.Caller, org, team, user, p.Ct), $"{user} added to {team}."),
            _ => throw WebUi.NotFound(),
        };
        await NamespaceAsync(p, org, notice);
    }

    private static async Task<string> Do(Task change, string notice)
    {
        await change;
        return notice;
    }

    // ---- /settings/...

    public Task SettingsRouteAsync(PageContext p, bool post, string rest)
    {
        RepositoryPages.RequireSignedIn(p);
        return (post, rest) switch
        {
            (false, "tokens") => TokensAsync(p, null, null),
            (true, "tokens") => CreateTokenAsync(p),
            (true, "tokens/revoke") => RevokeTokenAsync(p),
            (false, "repositories/new") => repositories.NewRepositoryFormAsync(p, null),
            (true, "repositories/new") => repositories.CreateRepositoryAsync(p),
            (false, "orgs/new") => NewOrganizationAsync(p),
            (true, "orgs/new") => CreateOrganizationAsync(p),
            (false, "admin") => AdminAsync(p, null),
            (true, "admin/users") => AdminChangeAsync(p, "create"),
            (true, "admin/users/admin") => AdminChangeAsync(p, "admin"),
            (true, "admin/users/delete") => AdminChangeAsync(p, "delete"),
            (true, "admin/jobs/run") => RunJobAsync(p),
            _ => throw WebUi.NotFound(),
        };
    }

    private static void SettingsNav(Html body, PageContext p)
    {
        body.Add($"<nav aria-label=\"Settings\"><p><a href=\"/settings/tokens\">Access tokens</a> · <a href=\"/settings/repositories/new\">New repository</a> · <a href=\"/settings/orgs/new\">New organisation</a>");
        if (p.Caller.IsAdmin) body.Add($" · <a href=\"/settings/admin\">Administration</a>");
        body.Add($"</p></nav>");
    }

    private async Task TokensAsync(PageContext p, IssuedToken? issued, string? notice)
    {
        var list = await tokens.ListTokensAsync(p.Caller, p.Caller.Name!, p.Ct);
        var now = time.GetUtcNow();
        var body = new Html();
        SettingsNav(body, p);
        body.Add($"<h1>Access tokens</h1>");
        if (notice is not null) body.Add($"<p class=\"notice\" role=\"status\">{notice}</p>");
        if (issued is not null)
        {
            body.Add($"<div class=\"notice\" role=\"status\"><p>Token <strong>{issued.Token.Name}</strong> created. Copy it now: it is shown only this once.</p>");
            body.Add($"<div class=\"pull\"><code id=\"new-token\" class=\"secret\">{issued.Secret}</code><button type=\"button\" class=\"copy\" data-copy=\"new-token\">Copy</button></div>");
            body.Add($"<p class=\"hint\">Use it as the password: <code>docker login -u {p.Caller.Name} {p.Http.Request.Host.Value}</code></p></div>");
        }
        body.Add($"<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Scopes</th><th scope=\"col\">Created</th><th scope=\"col\">Expires</th><th scope=\"col\">State</th><th scope=\"col\"><span class=\"muted\">Actions</span></th></tr></thead><tbody>");
        foreach (var t in list)
        {
            var state = t.Revoked is not null ? "revoked" : t.Expires <= now ? "expired" : "active";
            body.Add($"<tr><td>{t.Name} <span class=\"muted mono\">{t.Id}</span></td><td><code>{string.Join(' ', t.Scopes)}</code></td><td title=\"{Human.Exact(t.Created)}\">{Human.Ago(t.Created, now)}</td>");
            body.Add($"<td>{(t.Expires is { } e ? Human.Exact(e) : "never")}</td><td>{state}</td><td>");
            if (state == "active") body.Add($"<form method=\"post\" action=\"/settings/tokens/revoke\">{p.CsrfField}<input type=\"hidden\" name=\"id\" value=\"{t.Id}\"><button class=\"danger\" type=\"submit\" aria-label=\"Revoke {t.Name}\">Revoke</button></form>");
            body.Add($"</td></tr>");
        }
        if (list.Count == 0) body.Add($"<tr><td colspan=\"6\" class=\"muted\">No tokens yet.</td></tr>");
        body.Add($"</tbody></table></div>");
        body.Add($"""
            <h2>New token</h2><form method="post" action="/settings/tokens">{p.CsrfField}
            <label for="token-name">Name</label><input type="text" id="token-name" name="name" required maxlength="100">
            <label for="scopes">Scopes</label><input type="text" id="scopes" name="scopes" value="*:pull" required aria-describedby="scopes-hint">
            <div class="hint" id="scopes-hint">Space-separated PATTERN:ACTIONS, such as acme/api:pull or acme/*:pull,push; *:* is everything your account may do.</div>
            <label for="expires">Expires in</label><input type="text" id="expires" name="expires" value="90d" aria-describedby="expires-hint">
            <div class="hint" id="expires-hint">A duration such as 30d or 12h; empty for never.</div>
            <p><button type="submit">Create token</button></p></form>
            """);
        await WebUi.WriteAsync(p, "Access tokens", body);
    }

    private async Task CreateTokenAsync(PageContext p)
    {
        var scopes = AccountRules.ParseScopes(p.Field("scopes").Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var expiresText = p.Field("expires").Trim();
        DateTimeOffset? expires = expiresText.Length == 0 ? null : AccountRules.ParseExpiry(expiresText, time.GetUtcNow(), "expiry");
        var issued = await tokens.CreateTokenAsync(p.Caller, p.Caller.Name!, p.Field("name").Trim(), scopes, expires, p.Ct);
        await TokensAsync(p, issued, null);
    }

    private async Task RevokeTokenAsync(PageContext p)
    {
        await tokens.RevokeTokenAsync(p.Caller, p.Field("id"), p.Ct);
        await TokensAsync(p, null, "Token revoked.");
    }

    private async Task NewOrganizationAsync(PageContext p)
    {
        var body = new Html();
        SettingsNav(body, p);
        body.Add($"<h1>New organisation</h1><form method=\"post\" action=\"/settings/orgs/new\">{p.CsrfField}<label for=\"org\">Name</label><input type=\"text\" id=\"org\" name=\"name\" required><p><button type=\"submit\">Create</button></p></form>");
        await WebUi.WriteAsync(p, "New organisation", body);
    }

    private async Task CreateOrganizationAsync(PageContext p)
    {
        var org = await admin.CreateOrganizationAsync(p.Caller, p.Field("name").Trim(), null, p.Ct);
        await WebUi.Redirect(p, $"/u/{org.Name}");
    }

    // ---- Site administration

    private async Task AdminAsync(PageContext p, string? notice)
    {
        var users = await admin.ListAccountsAsync(p.Caller, null, p.Ct);
        var now = time.GetUtcNow();
        var body = new Html();
        SettingsNav(body, p);
        body.Add($"<h1>Administration</h1>");
        if (notice is not null) body.Add($"<p class=\"notice\" role=\"status\">{notice}</p>");
        body.Add($"<h2>Accounts</h2><div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Kind</th><th scope=\"col\">Created</th><th scope=\"col\">Administrator</th><th scope=\"col\"><span class=\"muted\">Actions</span></th></tr></thead><tbody>");
        foreach (var u in users)
        {
            body.Add($"<tr><td><a href=\"/u/{u.Name}\">{u.Name}</a></td><td>{u.Kind.ToString().ToLowerInvariant()}</td><td title=\"{Human.Exact(u.Created)}\">{Human.Ago(u.Created, now)}</td><td>");
            if (u.Kind == AccountKind.User)
            {
                body.Add($"<form method=\"post\" action=\"/settings/admin/users/admin\">{p.CsrfField}<input type=\"hidden\" name=\"name\" value=\"{u.Name}\"><input type=\"hidden\" name=\"admin\" value=\"{(u.IsAdmin ? "false" : "true")}\">{(u.IsAdmin ? "yes" : "no")} <button class=\"link\" type=\"submit\">{(u.IsAdmin ? "revoke" : "make administrator")}</button></form>");
            }
            body.Add($"</td><td><form method=\"post\" action=\"/settings/admin/users/delete\">{p.CsrfField}<input type=\"hidden\" name=\"name\" value=\"{u.Name}\"><button class=\"danger\" type=\"submit\" aria-label=\"Delete {u.Name}\">Delete</button></form></td></tr>");
        }
        body.Add($"</tbody></table></div>");
        body.Add($"""
            <h2>New user</h2><form method="post" action="/settings/admin/users">{p.CsrfField}
            <label for="new-user">Name</label><input type="text" id="new-user" name="name" required>
            <label for="new-password">Password</label><input type="password" id="new-password" name="password" autocomplete="new-password" required minlength="{AccountRules.MinPasswordLength}">
            <label><input type="checkbox" name="admin" value="true"> site administrator</label>
            <p><button type="submit">Create user</button></p></form>
            """);
        body.Add($"<h2>Jobs</h2><div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Job</th><th scope=\"col\">Every</th><th scope=\"col\">Last run</th><th scope=\"col\">Outcome</th><th scope=\"col\"><span class=\"muted\">Actions</span></th></tr></thead><tbody>");
        foreach (var j in scheduler.Jobs())
        {
            body.Add($"<tr><td>{j.Name}</td><td>{j.Period}</td><td>{(j.LastFinished is { } f ? Human.Ago(f, now) : j.Running ? "running" : "never")}</td><td>{j.LastError ?? j.LastOutcome ?? ""}</td>");
            body.Add($"<td><form method=\"post\" action=\"/settings/admin/jobs/run\">{p.CsrfField}<input type=\"hidden\" name=\"job\" value=\"{j.Name}\"><button type=\"submit\" aria-label=\"Run {j.Name} now\">Run now</button></form></td></tr>");
        }
        body.Add($"</tbody></table></div>");
        // Storage per namespace (a chart) comes with the lifecycle branch's figures; it goes here.
        await WebUi.WriteAsync(p, "Administration", body);
    }

    private async Task AdminChangeAsync(PageContext p, string action)
    {
        var name = p.Field("name").Trim();
        var notice = action switch
        {
            "create" => await Do(admin.CreateUserAsync(p.Caller, name, p.Field("password"), p.Field("admin") == "true", p.Ct), $"User {name} created."),
            "admin" => await Do(admin.SetAdminAsync(p.Caller, name, p.Field("admin") == "true", p.Ct), $"{name} saved."),
            _ => await Do(admin.DeleteAccountAsync(p.Caller, name, p.Ct), $"{name} deleted."),
        };
        await AdminAsync(p, notice);
    }

    private async Task RunJobAsync(PageContext p)
    {
        AccountRules.RequireSiteAdmin(p.Caller);
        var job = p.Field("job");
        var ran = await scheduler.RunNowAsync(job, p.Ct) ?? throw WebUi.NotFound();
        await AdminAsync(p, $"{ran.Name}: {ran.LastError ?? ran.LastOutcome ?? "done"}");
    }
}
