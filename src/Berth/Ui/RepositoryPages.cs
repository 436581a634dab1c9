using System.Text.Json;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Access;
using Berth.Core.Metadata;
using Berth.Core.Registry;
using Berth.Core.Storage;

namespace Berth.Ui;

/// <summary>
/// Home, search, a repository with its tags, one tag or digest, a repository's settings and creating one. Reads go through
/// <see cref="RepositoryDirectory"/> (what the caller may pull) and <see cref="ManifestService"/>; changes through
/// <see cref="Administration"/> and the access decision, as the APIs do. A repository the caller may not pull is a 404
/// page, the same as one that does not exist.
/// </summary>
internal sealed class RepositoryPages(RepositoryDirectory directory, AccessControl access, Administration admin, ManifestService manifests,
    IBlobStore blobs, IRepositories repositories, BerthOptions options, TimeProvider time)
{
    private const int PageSize = 50;
    private const int TagPageSize = 25;
    private const int MaxConfigBytes = 1 << 20;

    /// <summary>Bound of <see cref="_rows"/>: a row with the cache's own overhead is ~450 bytes, so some 2,000 digests.</summary>
    public const long RowCacheBytes = 1L << 20;

    // What a tag row shows about a manifest (size, platforms), by digest: content by digest never changes, so a hit is always
    // right; the rows listed come from the repository's own tags, so a digest seen here belongs to the repository.
    private readonly BoundedCache<Digest, (long Size, string Platforms)> _rows = new(RowCacheBytes);

    // ---- Home and search

    public async Task HomeAsync(PageContext p)
    {
        var last = Opt(p.Query("last"));
        var names = await directory.CatalogAsync(p.Caller, last, PageSize, p.Ct);
        var body = new Html();
        body.Add($"<h1>Repositories</h1>");
        if (p.Caller.IsAnonymous) body.Add($"<p class=\"muted\">Public repositories. <a href=\"/signin\">Sign in</a> to see yours.</p>");
        await RepositoryListAsync(p, body, names);
        if (names.Count == PageSize) body.Add($"<p class=\"pager\"><a href=\"/?last={Uri.EscapeDataString(names[^1])}\">Next page</a></p>");
        await WebUi.WriteAsync(p, "Repositories", body);
    }

    public async Task SearchAsync(PageContext p)
    {
        var q = p.Query("q").Trim();
        var body = new Html();
        body.Add($"<h1>Search</h1><form method=\"get\" action=\"/search\"><label for=\"sq\">Repository name or description</label><input type=\"search\" id=\"sq\" name=\"q\" value=\"{q}\"> <button type=\"submit\">Search</button></form>");
        if (q.Length > 0)
        {
            var after = Opt(p.Query("after"));
            var found = await directory.SearchAsync(p.Caller, q, after, PageSize, p.Ct);
            body.Add($"<h2>{found.Count}{(found.Count == PageSize ? "+" : "")} results for “{q}”</h2>");
            if (found.Count == 0) body.Add($"<p>No repository you may see matches.</p>");
            body.Add($"<ul class=\"repos\">");
            foreach (var r in found) Item(body, r);
            body.Add($"</ul>");
            if (found.Count == PageSize) body.Add($"<p class=\"pager\"><a href=\"/search?q={Uri.EscapeDataString(q)}&amp;after={Uri.EscapeDataString(found[^1].Name)}\">Next page</a></p>");
        }
        await WebUi.WriteAsync(p, q.Length > 0 ? $"Search: {q}" : "Search", body);
    }

    private async Task RepositoryListAsync(PageContext p, Html body, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            body.Add($"<p>No repositories to show yet.</p>");
            return;
        }
        body.Add($"<ul class=\"repos\">");
        foreach (var name in names)
        {
            if (await directory.GetAsync(p.Caller, name, p.Ct) is { } entry) Item(body, entry);
        }
        body.Add($"</ul>");
    }

    private static void Item(Html body, RepositoryEntry r)
    {
        body.Add($"<li><a class=\"name\" href=\"/r/{r.Name}\">{r.Name}</a> {VisibilityBadge(r.Visibility)}");
        // Search results carry the ranking's fields; entries read one by one (the home list) know only "library/".
        if (r.Official || AccessText.Namespace(r.Name) is null or "library") body.Add($" <span class=\"badge official\" title=\"Official\">official</span>");
        if (r.Stars > 0) body.Add($" <span class=\"muted\" title=\"Stars\">\u2605 {r.Stars}</span>");
        if (r.Pulls > 0) body.Add($" <span class=\"muted\" title=\"Pulls\">{r.Pulls} pulls</span>");
        if (FirstLine(r.Description) is { } line) body.Add($"<div class=\"muted\">{line}</div>");
        body.Add($"</li>");
    }

    // ---- /r/...

    public Task RouteAsync(PageContext p, bool post, string rest)
    {
        var dash = rest.IndexOf("/-/", StringComparison.Ordinal);
        if (dash > 0)
        {
            var name = rest[..dash];
            var action = rest[(dash + 3)..];
            RequireName(name);
            return (post, action) switch
            {
                (false, "settings") => SettingsAsync(p, name, null),
                (true, "settings") => SaveSettingsAsync(p, name),
                (true, "grants") => GrantAsync(p, name),
                (true, "delete-tag") => DeleteTagAsync(p, name),
                (false, _) when action.StartsWith("manifests/", StringComparison.Ordinal) && Digest.TryParse(action["manifests/".Length..], out var d)
                    => ManifestAsync(p, name, new Reference(null, d)),
                _ => throw WebUi.NotFound(),
            };
        }
        if (post) throw WebUi.NotFound();
        var tags = rest.LastIndexOf("/tags/", StringComparison.Ordinal);
        if (tags > 0 && Names.IsValidTag(rest.AsSpan(tags + 6)) && Names.IsValidRepository(rest.AsSpan(0, tags)))
        {
            return ManifestAsync(p, rest[..tags], new Reference(rest[(tags + 6)..], null));
        }
        RequireName(rest);
        return RepositoryAsync(p, rest);
    }

    private async Task RepositoryAsync(PageContext p, string name)
    {
        var entry = await directory.GetAsync(p.Caller, name, p.Ct) ?? throw WebUi.NotFound();
        var rights = await access.DecideAsync(p.Caller, name, RepoActions.All, p.Ct);
        var last = Opt(p.Query("last"));
        var listed = await manifests.ListTagInfoAsync(name, last, TagPageSize, p.Ct);
        var tags = listed ?? [];
        var host = Host(p);
        var body = new Html();
        body.Add($"<h1>{name} {VisibilityBadge(entry.Visibility)}</h1>");
        if (rights == RepoActions.All && p.Caller.HasFullRights) body.Add($"<p><a href=\"/r/{name}/-/settings\">Settings</a></p>");
        body.Add($"<div class=\"cols\"><div>");
        var pull = tags.Count > 0 ? $"docker pull {host}/{name}:{(tags.Any(t => t.Name == "latest") ? "latest" : tags[0].Name)}" : $"docker push {host}/{name}:TAG";
        body.Add($"<h2>{(tags.Count > 0 ? "Pull" : "Push")}</h2>{PullBox("pull-cmd", pull)}");
        body.Add($"<h2>Tags</h2>");
        // A repository exists once something is pushed; until then its settings are stored but not in force.
        if (listed is null) body.Add($"<p>No tags yet. The visibility and description set for it apply from the first push.</p>");
        else if (tags.Count == 0 && last is null) body.Add($"<p>No tags yet.</p>");
        else
        {
            body.Add($"<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Tag</th><th scope=\"col\">Digest</th><th scope=\"col\">Compressed size</th><th scope=\"col\">Platforms</th><th scope=\"col\">Pushed</th>");
            // Last pulled times, and the immutable mark, come with the lifecycle branch: their columns go here.
            body.Add($"{(rights.HasFlag(RepoActions.Delete) ? Html.Of($"<th scope=\"col\"><span class=\"muted\">Actions</span></th>") : default)}</tr></thead><tbody>");
            var now = time.GetUtcNow();
            foreach (var info in tags)
            {
                var tag = info.Name;
                // By digest: the tag may have moved since it was listed, and the row shows the digest it was listed with.
                var row = await RowAsync(name, info.Digest, p.Ct);
                body.Add($"<tr><td><a href=\"/r/{name}/tags/{tag}\">{tag}</a></td>");
                if (row is not { } summary)
                {
                    body.Add($"<td><code>{Short(info.Digest)}</code></td><td colspan=\"2\" class=\"muted\">unreadable</td>");
                }
                else
                {
                    body.Add($"<td><code title=\"{info.Digest}\">{Short(info.Digest)}</code></td><td>{Human.Size(summary.Size)}</td><td>{summary.Platforms}</td>");
                }
                body.Add($"<td><time datetime=\"{info.Pushed.UtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture)}\" title=\"{Human.Exact(info.Pushed)}\">{Human.Ago(info.Pushed, now)}</time></td>");
                if (rights.HasFlag(RepoActions.Delete))
                {
                    body.Add($"<td><form method=\"post\" action=\"/r/{name}/-/delete-tag\">{p.CsrfField}<input type=\"hidden\" name=\"tag\" value=\"{tag}\"><button class=\"danger\" type=\"submit\" aria-label=\"Delete tag {tag}\">Delete</button></form></td>");
                }
                body.Add($"</tr>");
            }
            body.Add($"</tbody></table></div>");
            if (tags.Count == TagPageSize) body.Add($"<p class=\"pager\"><a href=\"/r/{name}?last={Uri.EscapeDataString(tags[^1].Name)}\">More tags</a></p>");
        }
        body.Add($"</div><div><h2>About</h2>");
        body.Add($"<dl class=\"kv\"><dt>Visibility</dt><dd>{AccessText.Format(entry.Visibility)}</dd><dt>Your access</dt><dd>{(rights == RepoActions.None ? "none" : AccessText.Format(rights))}</dd>");
        if (AccessText.Namespace(name) is { } ns) body.Add($"<dt>Namespace</dt><dd><a href=\"/u/{ns}\">{ns}</a></dd>");
        body.Add($"</dl></div></div>");
        if (!string.IsNullOrWhiteSpace(entry.Description)) body.Add($"<h2>Overview</h2><article class=\"readme\">{Markdown.Render(entry.Description)}</article>");
        await WebUi.WriteAsync(p, name, body);
    }

    private async Task ManifestAsync(PageContext p, string name, Reference reference)
    {
        _ = await directory.GetAsync(p.Caller, name, p.Ct) ?? throw WebUi.NotFound();
        var image = await LoadAsync(name, reference, p.Ct) ?? throw WebUi.NotFound();
        var m = image.Manifest;
        var body = new Html();
        body.Add($"<p><a href=\"/r/{name}\">{name}</a></p><h1>{(reference.Tag is { } t ? $"{name}:{t}" : $"{name}@{Short(image.Digest)}")}</h1>");
        body.Add($"<dl class=\"kv\"><dt>Digest</dt><dd><code id=\"digest\">{image.Digest}</code></dd><dt>Media type</dt><dd><code>{m.MediaType}</code></dd>");
        if (m.EffectiveArtifactType is { } at && !MediaTypes.IsImageManifest(m.MediaType)) body.Add($"<dt>Artifact type</dt><dd><code>{at}</code></dd>");
        body.Add($"<dt>Compressed size</dt><dd>{Human.Size(image.Size)}</dd>");
        if (image.Platform is { } platform) body.Add($"<dt>Platform</dt><dd>{platform}</dd>");
        body.Add($"</dl>");
        body.Add($"<h2>Pull by digest</h2>{PullBox("pull-digest", $"docker pull {Host(p)}/{name}@{image.Digest}")}");

        if (m.Children.Count > 0)
        {
            body.Add($"<h2>Platforms</h2><div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Platform</th><th scope=\"col\">Digest</th><th scope=\"col\">Compressed size</th></tr></thead><tbody>");
            foreach (var c in m.Children)
            {
                var child = await LoadAsync(name, new Reference(null, c.Digest), p.Ct);
                body.Add($"<tr><td>{(c.Platform is { } cp ? PlatformText(cp) : c.ArtifactType ?? "—")}</td><td><a href=\"/r/{name}/-/manifests/{c.Digest}\"><code>{Short(c.Digest)}</code></a></td><td>{(child is null ? "—" : Human.Size(child.Size))}</td></tr>");
            }
            body.Add($"</tbody></table></div>");
        }
        if (m.Layers.Count > 0)
        {
            var max = Math.Max(1, m.Layers.Max(l => l.Size));
            body.Add($"<h2>Layers ({m.Layers.Count})</h2><div class=\"table-wrap\"><table class=\"layers\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Digest</th><th scope=\"col\">Size</th><th scope=\"col\"><span class=\"muted\">Share of the largest</span></th></tr></thead><tbody>");
            var i = 0;
            foreach (var l in m.Layers)
            {
                var width = Math.Round(100.0 * l.Size / max, 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                body.Add($"<tr><td>{++i}</td><td><code title=\"{l.Digest}\">{Short(l.Digest)}</code></td><td class=\"size\">{Human.Size(l.Size)}</td>");
                body.Add($"<td class=\"graph\"><svg class=\"bar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" width=\"100%\" height=\"12\" role=\"img\" aria-label=\"{width}% of the largest layer\"><rect width=\"{width}\" height=\"10\" rx=\"1\"/></svg></td></tr>");
            }
            body.Add($"</tbody></table></div>");
        }
        if (image.Config is { } config) ConfigSection(body, config);
        var referrers = await manifests.ListReferrersAsync(name, image.Digest, null, p.Ct);
        body.Add($"<h2>Referrers</h2>");
        if (referrers.Count == 0) body.Add($"<p class=\"muted\">No signatures, SBOMs or attestations refer to this manifest.</p>");
        else
        {
            body.Add($"<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Artifact type</th><th scope=\"col\">Digest</th><th scope=\"col\">Size</th></tr></thead><tbody>");
            foreach (var r in referrers)
            {
                body.Add($"<tr><td><code>{r.ArtifactType ?? r.MediaType}</code></td><td><a href=\"/r/{name}/-/manifests/{r.Digest}\"><code>{Short(r.Digest)}</code></a></td><td>{Human.Size(r.Size)}</td></tr>");
            }
            body.Add($"</tbody></table></div>");
        }
        await WebUi.WriteAsync(p, reference.ToString(), body);
    }

    private static void ConfigSection(Html body, JsonElement config)
    {
        body.Add($"<h2>Configuration</h2><dl class=\"kv\">");
        if (config.TryGetProperty("created", out var created) && created.ValueKind == JsonValueKind.String) body.Add($"<dt>Created</dt><dd>{created.GetString()}</dd>");
        if (config.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            Row(body, "Entrypoint", Joined(c, "Entrypoint"));
            Row(body, "Command", Joined(c, "Cmd"));
            Row(body, "Working directory", Str(c, "WorkingDir"));
            Row(body, "User", Str(c, "User"));
            if (c.TryGetProperty("ExposedPorts", out var ports) && ports.ValueKind == JsonValueKind.Object)
            {
                Row(body, "Exposed ports", string.Join(", ", ports.EnumerateObject().Select(x => x.Name)));
            }
            if (c.TryGetProperty("Env", out var env) && env.ValueKind == JsonValueKind.Array)
            {
                body.Add($"<dt>Environment</dt><dd>");
                foreach (var e in env.EnumerateArray()) body.Add($"<code>{e.ToString()}</code><br>");
                body.Add($"</dd>");
            }
            if (c.TryGetProperty("Labels", out var labels) && labels.ValueKind == JsonValueKind.Object)
            {
                body.Add($"<dt>Labels</dt><dd>");
                foreach (var l in labels.EnumerateObject()) body.Add($"<code>{l.Name}={l.Value.ToString()}</code><br>");
                body.Add($"</dd>");
            }
        }
        body.Add($"</dl>");
        if (config.TryGetProperty("history", out var history) && history.ValueKind == JsonValueKind.Array && history.GetArrayLength() > 0)
        {
            body.Add($"<h2>History</h2><ol class=\"history\">");
            foreach (var h in history.EnumerateArray())
            {
                var by = Str(h, "created_by") ?? Str(h, "comment") ?? "";
                var empty = h.TryGetProperty("empty_layer", out var el) && el.ValueKind == JsonValueKind.True;
                body.Add($"<li><code>{by}</code>{(empty ? Html.Of($" <span class=\"muted\">(no layer)</span>") : default)}</li>");
            }
            body.Add($"</ol>");
        }
    }

    private static void Row(Html body, string label, string? value)
    {
        if (!string.IsNullOrEmpty(value)) body.Add($"<dt>{label}</dt><dd><code>{value}</code></dd>");
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? Joined(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? string.Join(' ', v.EnumerateArray().Select(x => x.ToString())) : null;

    private async Task<(long Size, string Platforms)?> RowAsync(string name, Digest digest, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        if (_rows.TryGet(digest, now, out var hit)) return hit;
        var image = await LoadAsync(name, new Reference(null, digest), ct);
        if (image is null) return null;
        var platforms = image.Manifest.Children.Count > 0
            ? string.Join(", ", image.Manifest.Children.Where(c => c.Platform is not null).Select(c => PlatformText(c.Platform!)).Distinct())
            : image.Platform ?? "";
        var row = (image.Size, platforms);
        _rows.Set(digest, row, 64 + CacheCost.Of(digest.Hex) + CacheCost.Of(platforms));
        return row;
    }

    private sealed record Image(Digest Digest, Manifest Manifest, long Size, string? Platform, JsonElement? Config);

    /// <summary>A manifest by tag or digest with its compressed size and, for an image, its configuration; null when absent.</summary>
    private async Task<Image?> LoadAsync(string name, Reference reference, CancellationToken ct)
    {
        var cached = await manifests.GetAsync(name, reference, ct);
        if (cached is null) return null;
        Manifest m;
        try
        {
            m = Manifest.Parse(cached.Content, cached.MediaType, cached.Digest);
        }
        catch (RegistryException)
        {
            return null;
        }
        var size = (m.Config?.Size ?? 0) + m.Layers.Sum(l => l.Size);
        if (m.Children.Count > 0) size = m.Children.Sum(c => c.Size);
        JsonElement? config = null;
        string? platform = null;
        if (m.Config is { } cd && MediaTypes.IsImageManifest(m.MediaType) && cd.Size <= MaxConfigBytes)
        {
            var bytes = await blobs.GetAsync(cd.Digest, (int)cd.Size, ct);
            if (bytes is not null)
            {
                try
                {
                    using var doc = JsonDocument.Parse(bytes);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object)
                    {
                        config = doc.RootElement.Clone();
                        var os = Str(config.Value, "os");
                        var arch = Str(config.Value, "architecture");
                        if (os is not null && arch is not null) platform = PlatformText(new Platform(arch, os, Str(config.Value, "variant")));
                    }
                }
                catch (JsonException)
                {
                    // An artifact's config need not be JSON; there is nothing to show.
                }
            }
        }
        return new Image(cached.Digest, m, size, platform, config);
    }

    // ---- Changes

    private async Task DeleteTagAsync(PageContext p, string name)
    {
        var tag = p.Field("tag");
        if (await access.DecideAsync(p.Caller, name, RepoActions.Delete, p.Ct) != RepoActions.Delete)
        {
            // The same answer as for a repository that does not exist, unless the caller may see it.
            if (await directory.GetAsync(p.Caller, name, p.Ct) is null) throw WebUi.NotFound();
            throw new RegistryException(ErrorCode.Denied, "you may not delete tags of this repository");
        }
        if (!Names.IsValidTag(tag) || !await manifests.DeleteAsync(name, new Reference(tag, null), p.Ct)) throw WebUi.NotFound();
        await WebUi.Redirect(p, $"/r/{name}");
    }

    private async Task SettingsAsync(PageContext p, string name, string? notice)
    {
        await RequireAdminAsync(p, name);
        var entry = await directory.GetAsync(p.Caller, name, p.Ct) ?? throw WebUi.NotFound();
        var grants = await admin.ListGrantsAsync(p.Caller, name, false, p.Ct);
        var body = new Html();
        body.Add($"<p><a href=\"/r/{name}\">{name}</a></p><h1>Settings of {name}</h1>");
        if (notice is not null) body.Add($"<p class=\"notice\" role=\"status\">{notice}</p>");
        body.Add($"<form method=\"post\" action=\"/r/{name}/-/settings\">{p.CsrfField}");
        VisibilityField(body, entry.Visibility);
        body.Add($"<label for=\"description\">Description (Markdown)</label><textarea id=\"description\" name=\"description\">{entry.Description}</textarea>");
        body.Add($"<p><button type=\"submit\">Save</button></p></form>");
        body.Add($"<h2>Who has which role</h2>");
        if (grants.Count == 0) body.Add($"<p class=\"muted\">No grants on this repository (namespace owners and administrators have every right).</p>");
        else
        {
            body.Add($"<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Subject</th><th scope=\"col\">Role</th></tr></thead><tbody>");
            foreach (var g in grants) body.Add($"<tr><td>{g.Subject}</td><td>{AccessText.Format(g.Role)}</td></tr>");
            body.Add($"</tbody></table></div>");
        }
        body.Add($"<form method=\"post\" action=\"/r/{name}/-/grants\">{p.CsrfField}<label for=\"subject\">Subject</label><input type=\"text\" id=\"subject\" name=\"subject\" placeholder=\"user:NAME or team:ORG/TEAM\" required>");
        body.Add($"<label for=\"role\">Role</label><select id=\"role\" name=\"role\"><option>read</option><option>write</option><option>admin</option><option value=\"none\">none (remove)</option></select><p><button type=\"submit\">Set role</button></p></form>");
        // Deleting a whole repository needs a store operation (issue 12's lifecycle part); its form goes here.
        await WebUi.WriteAsync(p, $"Settings of {name}", body);
    }

    private async Task SaveSettingsAsync(PageContext p, string name)
    {
        await RequireAdminAsync(p, name);
        var visibility = AccountRules.ParseVisibility(p.Field("visibility"));
        var description = p.Field("description");
        await admin.SetVisibilityAsync(p.Caller, name, visibility, p.Ct);
        await admin.SetDescriptionAsync(p.Caller, name, string.IsNullOrWhiteSpace(description) ? null : description, p.Ct);
        access.Forget(name);
        await SettingsAsync(p, name, "Saved.");
    }

    private async Task GrantAsync(PageContext p, string name)
    {
        await RequireAdminAsync(p, name);
        await admin.SetGrantAsync(p.Caller, name, false, p.Field("subject").Trim(), AccountRules.ParseRole(p.Field("role")), p.Ct);
        access.Invalidate();
        await SettingsAsync(p, name, "Role set.");
    }

    /// <summary>Settings are for the repository's administrators; anyone who may not even pull it sees no such page.</summary>
    private async Task RequireAdminAsync(PageContext p, string name)
    {
        if (p.Caller.HasFullRights && await access.DecideAsync(p.Caller, name, RepoActions.All, p.Ct) == RepoActions.All) return;
        if (await directory.GetAsync(p.Caller, name, p.Ct) is null) throw WebUi.NotFound();
        throw new RegistryException(ErrorCode.Denied, $"only an administrator of {name} may change its settings");
    }

    public async Task NewRepositoryFormAsync(PageContext p, string? error, string name = "", string description = "")
    {
        RequireSignedIn(p);
        var body = new Html();
        body.Add($"<h1>Create a repository</h1>");
        if (error is not null) body.Add($"<p class=\"notice error\" role=\"alert\">{error}</p>");
        body.Add($"<form method=\"post\" action=\"/settings/repositories/new\">{p.CsrfField}<label for=\"name\">Name</label>");
        body.Add($"<input type=\"text\" id=\"name\" name=\"name\" value=\"{(name.Length > 0 ? name : p.Caller.Name + "/")}\" required aria-describedby=\"name-hint\"><div class=\"hint\" id=\"name-hint\">NAMESPACE/NAME: your user name or an organisation you administer, then the repository.</div>");
        VisibilityField(body, Visibility.Private);
        body.Add($"<label for=\"description\">Description (Markdown)</label><textarea id=\"description\" name=\"description\">{description}</textarea><p><button type=\"submit\">Create</button></p></form>");
        await WebUi.WriteAsync(p, "Create a repository", body);
    }

    public async Task CreateRepositoryAsync(PageContext p)
    {
        RequireSignedIn(p);
        var name = p.Field("name").Trim();
        var description = p.Field("description");
        if (!Names.IsValidRepository(name))
        {
            p.Http.Response.StatusCode = 400;
            await NewRepositoryFormAsync(p, "That is not a valid repository name: lower-case letters, digits and separators, with slashes between components.", name, description);
            return;
        }
        var visibility = AccountRules.ParseVisibility(p.Field("visibility"));
        if (await repositories.GetAsync(name, p.Ct) is not null && await directory.GetAsync(p.Caller, name, p.Ct) is not null)
        {
            p.Http.Response.StatusCode = 409;
            await NewRepositoryFormAsync(p, $"{name} exists already.", name, description);
            return;
        }
        // The same checks as the management API: only an administrator of the target (its namespace's owner) may.
        await admin.SetVisibilityAsync(p.Caller, name, visibility, p.Ct);
        if (!string.IsNullOrWhiteSpace(description)) await admin.SetDescriptionAsync(p.Caller, name, description, p.Ct);
        access.Forget(name);
        await WebUi.Redirect(p, $"/r/{name}");
    }

    // ---- Pieces

    internal static void RequireSignedIn(PageContext p)
    {
        if (p.Caller.IsAnonymous) throw new UiRefusal(401, "Sign in", "Sign in to see this page.");
    }

    private static void RequireName(string name)
    {
        if (!Names.IsValidRepository(name)) throw WebUi.NotFound();
    }

    private static void VisibilityField(Html body, Visibility current)
    {
        body.Add($"<fieldset><legend>Visibility</legend>");
        foreach (var v in new[] { Visibility.Private, Visibility.Public })
        {
            var text = AccessText.Format(v);
            body.Add($"<label><input type=\"radio\" name=\"visibility\" value=\"{text}\"{(v == current ? new Markup(" checked") : default)}> {text}</label>");
        }
        body.Add($"</fieldset>");
    }

    internal static Markup VisibilityBadge(Visibility v) =>
        v == Visibility.Public ? Html.Of($"<span class=\"badge public\">public</span>") : Html.Of($"<span class=\"badge\">private</span>");

    private static Markup PullBox(string id, string command) =>
        Html.Of($"<div class=\"pull\"><code id=\"{id}\">{command}</code><button type=\"button\" class=\"copy\" data-copy=\"{id}\" aria-label=\"Copy the command\">Copy</button></div>");

    private string Host(PageContext p) =>
        options.PublicUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.Authority : p.Http.Request.Host.Value ?? "localhost";

    private static string PlatformText(Platform pl) => pl.Variant is { } v ? $"{pl.Os}/{pl.Architecture}/{v}" : $"{pl.Os}/{pl.Architecture}";

    private static string Short(Digest d) => d.Hex.Length > 12 ? $"{d.Algorithm}:{d.Hex[..12]}" : d.ToString();

    private static string? FirstLine(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var line = text.Trim().Split('\n')[0].Trim().TrimStart('#', ' ');
        return line.Length > 160 ? line[..160] + "…" : line;
    }

    private static string? Opt(string s) => string.IsNullOrEmpty(s) ? null : s;

    internal TimeProvider Time => time;
}
