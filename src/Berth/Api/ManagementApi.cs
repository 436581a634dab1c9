using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Auth;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Hosting;

namespace Berth.Api;

internal sealed record UserView(string Name, string Kind, bool Admin, string DefaultVisibility, DateTimeOffset Created);

internal sealed record TokenView(string Id, string Account, string Name, IReadOnlyList<string> Scopes, DateTimeOffset Created, DateTimeOffset? Expires, DateTimeOffset? Revoked, string? Token);

internal sealed record TeamView(string Name, IReadOnlyList<string> Members);

internal sealed record GrantView(string Subject, string Role);

internal sealed record RepositoryView(string Name, string Visibility, string? Description, int Stars, bool Official, long Pulls);

internal sealed record OfficialView(string Target, bool Namespace, DateTimeOffset Created);

internal sealed record AuditView(long Id, DateTimeOffset Time, string Actor, string? Address, string Action, string Target, bool Success, string? Detail);

internal sealed record JobView(string Name, long Period, DateTimeOffset? LastStarted, DateTimeOffset? LastFinished, string? LastOutcome, string? LastError, bool Running);

internal sealed record SearchResult(string Name, string? Description, [property: JsonPropertyName("is_official")] bool IsOfficial,
    [property: JsonPropertyName("star_count")] int StarCount, [property: JsonPropertyName("is_automated")] bool IsAutomated);

internal sealed record DockerSearch([property: JsonPropertyName("num_results")] int NumResults, [property: JsonPropertyName("num_pages")] int NumPages,
    int Page, [property: JsonPropertyName("page_size")] int PageSize, string Query, IReadOnlyList<SearchResult> Results);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UserView))]
[JsonSerializable(typeof(List<UserView>))]
[JsonSerializable(typeof(TokenView))]
[JsonSerializable(typeof(List<TokenView>))]
[JsonSerializable(typeof(List<TeamView>))]
[JsonSerializable(typeof(List<Member>))]
[JsonSerializable(typeof(List<GrantView>))]
[JsonSerializable(typeof(RepositoryView))]
[JsonSerializable(typeof(List<RepositoryView>))]
[JsonSerializable(typeof(List<AuditView>))]
[JsonSerializable(typeof(DockerSearch))]
[JsonSerializable(typeof(List<OfficialView>))]
[JsonSerializable(typeof(JobView))]
[JsonSerializable(typeof(List<JobView>))]
internal sealed partial class ManagementJson : JsonSerializerContext
{
    /// <summary>The contract for everything the management API writes: use this, not <c>Default</c>.</summary>
    public static ManagementJson Api => field ??= new(JsonWire.Options(Default.Options));
}

/// <summary>
/// The management API under /api/v1/ (docs/api.md): thin HTTP over the account services (<see cref="Administration"/>,
/// <see cref="TokenService"/>, <see cref="AuditTrail"/>), which check the actor's rights, and <see cref="RepositoryDirectory"/>
/// for repository reads. Also Docker's search endpoint, /v1/search.
/// </summary>
internal sealed class ManagementApi(Administration accounts, TokenService tokens, AuditTrail audit, RepositoryDirectory repositories, TimeProvider time,
    Authenticator auth, Scheduler scheduler, PolicyApi policies, GcApi gc, WebhooksApi webhooks, ILogger<ManagementApi> log)
{
    /// <summary>The surface under /api/v1/: <paramref name="path"/> is what follows that prefix.</summary>
    public async Task HandleAsync(HttpContext ctx, string path)
    {
        try
        {
            await RouteAsync(ctx, await auth.LiveAsync(ctx, await auth.AuthenticateAsync(ctx)), path);
        }
        catch (Exception e)
        {
            await ErrorResponse.WriteAsync(ctx, e, ErrorResponse.Basic, log);
        }
    }

    /// <summary>The surface of <c>docker search</c>, /v1/search.</summary>
    public async Task SearchAsync(HttpContext ctx)
    {
        try
        {
            await DockerSearchAsync(ctx, await auth.LiveAsync(ctx, await auth.AuthenticateAsync(ctx)));
        }
        catch (Exception e)
        {
            await ErrorResponse.WriteAsync(ctx, e, ErrorResponse.Basic, log);
        }
    }

    private async Task RouteAsync(HttpContext ctx, Caller caller, string path)
    {
        var ct = ctx.RequestAborted;
        var method = ctx.Request.Method;
        var p = path.Split('/');
        // Anonymous callers may search and read a repository's settings, each answering only with what they may pull.
        if (caller.IsAnonymous && !(method == "GET" && (p is ["search"] || (p is ["repositories", .. var repo] && repo.Length > 0 && repo[^1] != "grants"))))
        {
            throw new RegistryException(ErrorCode.Unauthorized, "sign in with Basic credentials (a password or an access token)");
        }
        switch (method, p)
        {
            case ("GET", ["me"]):
                await Json(ctx, View(await accounts.GetOwnAccountAsync(caller, ct) ?? throw new RegistryException(ErrorCode.NotFound, "no such account")), ManagementJson.Api.UserView);
                break;
            case ("GET", ["users"]):
                await Json(ctx, (await accounts.ListAccountsAsync(caller, null, ct)).Select(View).ToList(), ManagementJson.Api.ListUserView);
                break;
            case ("POST", ["users"]):
            {
                var body = await BodyAsync(ctx);
                var user = await accounts.CreateUserAsync(caller, Str(body, "name"), Str(body, "password"), Bool(body, "admin"), ct);
                await Json(ctx, View(user), ManagementJson.Api.UserView, 201);
                break;
            }
            case ("PUT", ["users", var name]):
            {
                var body = await BodyAsync(ctx);
                if (!body.TryGetProperty("admin", out var admin) || admin.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    throw new RegistryException(ErrorCode.InvalidRequest, "\"admin\" (true or false) is required");
                }
                await accounts.SetAdminAsync(caller, name, admin.GetBoolean(), ct);
                NoContent(ctx);
                break;
            }
            case ("PUT", ["users", var name, "password"]):
                await accounts.SetPasswordAsync(caller, name, Str(await BodyAsync(ctx), "password"), ct);
                NoContent(ctx);
                break;
            case ("DELETE", ["users" or "accounts" or "orgs", var name]):
                await accounts.DeleteAccountAsync(caller, name, ct);
                NoContent(ctx);
                break;
            case ("POST", ["orgs"]):
                await Json(ctx, View(await accounts.CreateOrganizationAsync(caller, Str(await BodyAsync(ctx), "name"), null, ct)), ManagementJson.Api.UserView, 201);
                break;
            case ("GET", ["orgs", var org, "members"]):
                await Json(ctx, (await accounts.ListMembersAsync(caller, org, ct)).ToList(), ManagementJson.Api.ListMember);
                break;
            case ("PUT", ["orgs", var org, "members", var user]):
                await accounts.SetMemberAsync(caller, org, user, Bool(await BodyAsync(ctx, optional: true), "owner"), ct);
                NoContent(ctx);
                break;
            case ("DELETE", ["orgs", var org, "members", var user]):
                await accounts.RemoveMemberAsync(caller, org, user, ct);
                NoContent(ctx);
                break;
            case ("GET", ["orgs", var org, "teams"]):
                await Json(ctx, (await accounts.ListTeamsAsync(caller, org, ct)).Select(t => new TeamView(t.Name, t.Members)).ToList(), ManagementJson.Api.ListTeamView);
                break;
            case ("POST", ["orgs", var org, "teams"]):
                await accounts.CreateTeamAsync(caller, org, Str(await BodyAsync(ctx), "name"), ct);
                ctx.Response.StatusCode = 201;
                break;
            case ("DELETE", ["orgs", var org, "teams", var team]):
                await accounts.DeleteTeamAsync(caller, org, team, ct);
                NoContent(ctx);
                break;
            case ("PUT", ["orgs", var org, "teams", var team, "members", var user]):
                await accounts.AddTeamMemberAsync(caller, org, team, user, ct);
                NoContent(ctx);
                break;
            case ("DELETE", ["orgs", var org, "teams", var team, "members", var user]):
                await accounts.RemoveTeamMemberAsync(caller, org, team, user, ct);
                NoContent(ctx);
                break;
            case ("PUT", ["namespaces", var ns]):
                await accounts.SetDefaultVisibilityAsync(caller, ns, ParseVisibility(Str(await BodyAsync(ctx), "defaultVisibility")), ct);
                NoContent(ctx);
                break;
            case ("GET", ["namespaces", var ns, "grants"]):
                await Json(ctx, Views(await accounts.ListGrantsAsync(caller, ns, true, ct)), ManagementJson.Api.ListGrantView);
                break;
            case ("PUT", ["namespaces", var ns, "grants"]):
                await GrantAsync(ctx, caller, ns, true);
                break;
            case ("POST", ["namespaces", var ns, "robots"]):
                await Json(ctx, View(await accounts.CreateRobotAsync(caller, ns, Str(await BodyAsync(ctx), "name"), ct)), ManagementJson.Api.UserView, 201);
                break;
            case ("GET", ["accounts", var name, "tokens"]):
                await Json(ctx, (await tokens.ListTokensAsync(caller, name, ct)).Select(t => View(t, null)).ToList(), ManagementJson.Api.ListTokenView);
                break;
            case ("POST", ["accounts", var name, "tokens"]):
                await CreateTokenAsync(ctx, caller, name);
                break;
            case ("DELETE", ["tokens", var id]):
                await tokens.RevokeTokenAsync(caller, id, ct);
                NoContent(ctx);
                break;
            case ("GET", ["search"]):
                var query = ctx.Request.Query["q"].ToString();
                var last = ctx.Request.Query["last"].ToString();
                var found = await repositories.SearchAsync(caller, query, string.IsNullOrEmpty(last) ? null : last, PageSize(ctx, 100), ct);
                await Json(ctx, found.Select(View).ToList(), ManagementJson.Api.ListRepositoryView);
                break;
            case ("GET", ["users", var user, "starred"]):
                var after = ctx.Request.Query["last"].ToString();
                var starred = await repositories.StarredAsync(caller, user, after.Length == 0 ? null : after, PageSize(ctx, 100), ct);
                await Json(ctx, starred.Select(View).ToList(), ManagementJson.Api.ListRepositoryView);
                break;
            case ("GET", ["official"]):
                var marks = await accounts.ListOfficialAsync(caller, ct);
                await Json(ctx, marks.Select(m => new OfficialView(m.Target, m.IsNamespace, m.Created)).ToList(), ManagementJson.Api.ListOfficialView);
                break;
            case ("PUT" or "DELETE", ["namespaces", var ns, "official"]):
                await accounts.SetOfficialAsync(caller, ns, true, method == "PUT", ct);
                NoContent(ctx);
                break;
            case ("GET", ["audit"]):
                await AuditAsync(ctx, caller);
                break;
            case ("GET", ["jobs"]):
                AccountRules.RequireSiteAdmin(caller);
                await Json(ctx, scheduler.Jobs().Select(View).ToList(), ManagementJson.Api.ListJobView);
                break;
            case ("POST", ["jobs", var job, "run"]):
                AccountRules.RequireSiteAdmin(caller);
                var ran = await scheduler.RunNowAsync(job, ct) ?? throw new RegistryException(ErrorCode.NotFound, $"no job {ErrorDetail.Clip(job)}");
                await Json(ctx, View(ran), ManagementJson.Api.JobView);
                break;
            case (_, _) when PolicyApi.Owns(p):
                await policies.RouteAsync(ctx, caller, p);
                break;
            case (_, ["gc"]):
                await gc.HandleAsync(ctx, caller);
                break;
            case (_, ["repositories", .. var rest]) when rest.Length > 0:
                await RepositoryAsync(ctx, caller, rest);
                break;
            case (_, _) when WebhooksApi.Owns(p):
                await webhooks.RouteAsync(ctx, caller, p);
                break;
            default:
                throw new RegistryException(ErrorCode.NotFound, $"no such endpoint: {method} /api/v1/{ErrorDetail.Clip(path)}");
        }
    }

    private async Task RepositoryAsync(HttpContext ctx, Caller caller, string[] rest)
    {
        var ct = ctx.RequestAborted;
        var grants = rest[^1] == "grants";
        // PUT or DELETE .../star and .../official without a body; a PUT with a body is the settings of a repository so named.
        var mark = rest.Length > 1 && rest[^1] is "star" or "official" && ctx.Request.Method is "PUT" or "DELETE"
            && ctx.Request.ContentLength is null or 0 && !ctx.Request.Headers.TransferEncoding.Any() ? rest[^1] : null;
        var name = string.Join('/', grants || mark is not null ? rest[..^1] : rest);
        if (!Names.IsValidRepository(name)) throw new RegistryException(ErrorCode.NameInvalid, "invalid repository name");
        if (mark == "star")
        {
            await repositories.StarAsync(caller, name, ctx.Request.Method == "PUT", time.GetUtcNow(), ct);
            NoContent(ctx);
            return;
        }
        if (mark == "official")
        {
            await accounts.SetOfficialAsync(caller, name, false, ctx.Request.Method == "PUT", ct);
            NoContent(ctx);
            return;
        }
        switch (ctx.Request.Method, grants)
        {
            case ("GET", false):
                // Readable to whoever may pull; to anyone else it does not exist.
                var entry = await repositories.GetAsync(caller, name, ct) ?? throw new RegistryException(ErrorCode.NameUnknown, "repository name not known to registry");
                await Json(ctx, View(entry), ManagementJson.Api.RepositoryView);
                break;
            case ("PUT", false):
                var body = await BodyAsync(ctx);
                if (body.TryGetProperty("visibility", out _)) await accounts.SetVisibilityAsync(caller, name, ParseVisibility(Str(body, "visibility")), ct);
                if (body.TryGetProperty("description", out var d)) await accounts.SetDescriptionAsync(caller, name, d.ValueKind == JsonValueKind.String ? d.GetString() : null, ct);
                NoContent(ctx);
                break;
            case ("GET", true):
                await Json(ctx, Views(await accounts.ListGrantsAsync(caller, name, false, ct)), ManagementJson.Api.ListGrantView);
                break;
            case ("PUT", true):
                await GrantAsync(ctx, caller, name, false);
                break;
            default:
                throw new RegistryException(ErrorCode.Unsupported, $"{ctx.Request.Method} is not supported here");
        }
    }

    private async Task GrantAsync(HttpContext ctx, Caller caller, string target, bool isNamespace)
    {
        var body = await BodyAsync(ctx);
        var roleText = Str(body, "role");
        var role = AccountRules.ParseRole(roleText);
        await accounts.SetGrantAsync(caller, target, isNamespace, Str(body, "subject"), role, ctx.RequestAborted);
        NoContent(ctx);
    }

    private async Task CreateTokenAsync(HttpContext ctx, Caller caller, string account)
    {
        var body = await BodyAsync(ctx);
        var texts = body.TryGetProperty("scopes", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? s.GetString()! : s.ToString()).ToList()
            : [];
        var scopes = AccountRules.ParseScopes(texts);
        DateTimeOffset? expires = null;
        if (body.TryGetProperty("expiresIn", out var e) && e.ValueKind == JsonValueKind.String)
        {
            expires = AccountRules.ParseExpiry(e.GetString()!, time.GetUtcNow(), "expiresIn");
        }
        var issued = await tokens.CreateTokenAsync(caller, account, Str(body, "name"), scopes, expires, ctx.RequestAborted);
        await Json(ctx, View(issued.Token, issued.Secret), ManagementJson.Api.TokenView, 201);
    }

    private async Task AuditAsync(HttpContext ctx, Caller caller)
    {
        var q = ctx.Request.Query;
        DateTimeOffset? since = DateTimeOffset.TryParse(q["since"].ToString(), CultureInfo.InvariantCulture, out var s) ? s : null;
        long? before = long.TryParse(q["before"].ToString(), out var b) ? b : null;
        var events = await audit.QueryAsync(caller, new AuditQuery(Opt(q["actor"]), Opt(q["action"]), Opt(q["target"]), since, before, PageSize(ctx, 100)), ctx.RequestAborted);
        await Json(ctx, events.Select(e => new AuditView(e.Id, e.Time, e.Actor, e.Address, e.Action, e.Target, e.Success, e.Detail)).ToList(), ManagementJson.Api.ListAuditView);
    }

    /// <summary>GET /v1/search?q=&amp;n=&amp;page= as <c>docker search</c> and <c>podman search</c> call it: n at most 100, pages from 1.</summary>
    private async Task DockerSearchAsync(HttpContext ctx, Caller caller)
    {
        var query = ctx.Request.Query["q"].ToString();
        var size = Math.Min(PageSize(ctx, 25), 100);
        var pageText = ctx.Request.Query["page"].ToString();
        var page = pageText.Length == 0 ? 1
            : int.TryParse(pageText, out var p) && p > 0 ? p : throw new RegistryException(ErrorCode.PaginationNumberInvalid, "page must be a positive integer");
        var offset = (long)(page - 1) * size;
        var found = offset >= SearchTerms.MaxResults ? null : await repositories.SearchPageAsync(caller, new SearchQuery(query, size, (int)offset), ctx.RequestAborted);
        // A page past the last still says how many results there are.
        found ??= await repositories.SearchPageAsync(caller, new SearchQuery(query, 1), ctx.RequestAborted) with { Results = [] };
        var results = found.Results.Select(r => new SearchResult(r.Name, r.Description ?? "", r.Official, r.Stars, false)).ToList();
        var pages = (found.Total + size - 1) / size;
        await Json(ctx, new DockerSearch(found.Total, pages, page, size, query, results), ManagementJson.Api.DockerSearch);
    }

    private static int PageSize(HttpContext ctx, int fallback)
    {
        var text = ctx.Request.Query["n"].ToString();
        if (text.Length == 0) text = ctx.Request.Query["limit"].ToString();
        if (text.Length == 0) return fallback;
        return int.TryParse(text, out var n) && n > 0 ? Math.Min(n, 1000) : throw new RegistryException(ErrorCode.PaginationNumberInvalid, "n must be a positive integer");
    }

    private static string? Opt(Microsoft.Extensions.Primitives.StringValues v) => v.Count > 0 && !string.IsNullOrEmpty(v[0]) ? v[0] : null;

    private static Visibility ParseVisibility(string text) => AccountRules.ParseVisibility(text);

    private static RepositoryView View(RepositoryEntry r) => new(r.Name, AccessText.Format(r.Visibility), r.Description, r.Stars, r.Official, r.Pulls);

    private static UserView View(Account a) =>
        new(a.Name, a.Kind.ToString().ToLowerInvariant(), a.IsAdmin, AccessText.Format(a.DefaultVisibility), a.Created);

    private static TokenView View(AccessToken t, string? secret) =>
        new(t.Id, t.Account, t.Name, t.Scopes.Select(s => s.ToString()).ToList(), t.Created, t.Expires, t.Revoked, secret);

    private static JobView View(JobState j) =>
        new(j.Name, (long)j.Period.TotalSeconds, j.LastStarted, j.LastFinished, j.LastOutcome, j.LastError, j.Running);

    private static List<GrantView> Views(IReadOnlyList<Grant> grants) => grants.Select(g => new GrantView(g.Subject, AccessText.Format(g.Role))).ToList();

    internal static async Task<JsonElement> BodyAsync(HttpContext ctx, bool optional = false)
    {
        if (ctx.Request.ContentLength is > 65_536) throw new RegistryException(ErrorCode.TooLarge, "request body too large");
        try
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
            if (buffer.Length > 65_536) throw new RegistryException(ErrorCode.TooLarge, "request body too large");
            if (buffer.Length == 0 && optional) return JsonDocument.Parse("{}").RootElement.Clone();
            using var doc = JsonDocument.Parse(buffer.ToArray());
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? doc.RootElement.Clone()
                : throw new RegistryException(ErrorCode.InvalidRequest, "the body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new RegistryException(ErrorCode.InvalidRequest, $"the body is not valid JSON: {e.Message}");
        }
    }

    internal static string Str(JsonElement body, string name) =>
        body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new RegistryException(ErrorCode.InvalidRequest, $"\"{name}\" (a string) is required");

    private static bool Bool(JsonElement body, string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    internal static void NoContent(HttpContext ctx) => ctx.Response.StatusCode = 204;

    internal static async Task Json<T>(HttpContext ctx, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, int status = 200)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, type);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
    }
}
