using System.Net;
using Berth.Core.Access;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Berth.UiTests;

/// <summary>
/// The pages in a real browser (Debian's chromium through Playwright) against the real server: sign in, create a private
/// repository, push to it with skopeo, see its tag and layers, find it; another user neither sees nor finds it; a README's
/// script never runs; a form without its anti-forgery token changes nothing.
/// </summary>
[Collection(UiServer.Collection)]
public sealed class PagesTests(UiServer server)
{
    private const string Readme = """
        # Secret app

        Internal service. <script>window.__pwned = 1; alert('script')</script>

        <img src="x" onerror="window.__pwned = 2; alert('onerror')">

        [click](javascript:window.__pwned=3) and <a href="javascript:alert(4)">this</a>
        """;

    [Fact]
    public async Task A_private_repository_is_created_pushed_browsed_and_found_by_its_owner_only()
    {
        var alice = await server.SignedInPageAsync("alice");
        var dialogs = new List<string>();
        alice.Dialog += (_, d) =>
        {
            dialogs.Add(d.Message);
            _ = d.DismissAsync();
        };

        // Create it through the form.
        await alice.GotoAsync("/settings/repositories/new");
        await alice.GetByLabel("Name").FillAsync("alice/secret-app");
        await alice.GetByLabel("private").CheckAsync();
        await alice.GetByLabel("Description (Markdown)").FillAsync(Readme);
        await alice.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await alice.WaitForURLAsync("**/r/alice/secret-app");
        Assert.Contains("private", await alice.Locator("h1").InnerTextAsync());
        Assert.Contains("No tags yet", await alice.ContentAsync());

        // Push an image with 3 layers; the page shows its tag, and the tag page its layers.
        await server.PushAsync("alice", "alice/secret-app:1.0", layers: 3);
        await alice.ReloadAsync();
        var row = alice.Locator("table tbody tr", new() { HasText = "1.0" });
        Assert.Equal(1, await row.CountAsync());
        Assert.Contains("sha256:", await row.InnerTextAsync());
        Assert.Contains("linux/amd64", await row.InnerTextAsync());
        Assert.Contains($"docker pull {server.Registry}/alice/secret-app:1.0", await alice.Locator("#pull-cmd").InnerTextAsync());
        // The README rendered, its script neither present nor run.
        Assert.Equal("Secret app", await alice.Locator("article.readme h1").InnerTextAsync());
        Assert.Equal(0, await alice.Locator("article.readme script").CountAsync());
        Assert.Equal(0, await alice.Locator("article.readme [onerror]").CountAsync());
        Assert.Equal(0, await alice.Locator("article.readme a[href^='javascript']").CountAsync());
        Assert.Equal("undefined", await alice.EvaluateAsync<string>("() => typeof window.__pwned"));

        await alice.GetByRole(AriaRole.Link, new() { Name = "1.0", Exact = true }).ClickAsync();
        await alice.WaitForURLAsync("**/r/alice/secret-app/tags/1.0");
        Assert.Equal(3, await alice.Locator("table.layers tbody tr").CountAsync());
        Assert.Equal(3, await alice.Locator("table.layers svg.bar rect").CountAsync());
        Assert.Contains("Configuration", await alice.ContentAsync());

        // Found by search.
        await alice.GotoAsync("/");
        await alice.GetByRole(AriaRole.Searchbox, new() { Name = "Search repositories" }).FillAsync("secret");
        await alice.GetByRole(AriaRole.Searchbox, new() { Name = "Search repositories" }).PressAsync("Enter");
        await alice.WaitForURLAsync("**/search?q=secret");
        Assert.Equal(1, await alice.Locator("ul.repos a[href='/r/alice/secret-app']").CountAsync());
        Assert.Equal(1, await alice.Locator("a[href='/r/alice/secret-app']").CountAsync());

        // Sign out: the session is gone.
        await alice.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await alice.GotoAsync("/r/alice/secret-app");
        Assert.Contains("Not found", await alice.Locator("h1").InnerTextAsync());

        // Bob: not on the start page, not found by search, the page is the same 404 as a repository that does not exist.
        var bob = await server.SignedInPageAsync("bob");
        Assert.Equal(0, await bob.Locator("a[href='/r/alice/secret-app']").CountAsync());
        await bob.GotoAsync("/search?q=secret");
        Assert.Equal(0, await bob.Locator("a[href='/r/alice/secret-app']").CountAsync());
        Assert.Contains("No repository you may see matches", await bob.ContentAsync());
        var hidden = await bob.GotoAsync("/r/alice/secret-app");
        Assert.Equal(404, hidden!.Status);
        var hiddenText = await bob.Locator("main").InnerTextAsync();
        var missing = await bob.GotoAsync("/r/alice/no-such-app");
        Assert.Equal(404, missing!.Status);
        Assert.Equal(await bob.Locator("main").InnerTextAsync(), hiddenText);
        Assert.Equal(404, (await bob.GotoAsync("/r/alice/secret-app/tags/1.0"))!.Status);
        Assert.Equal(404, (await bob.GotoAsync("/r/alice/secret-app/-/settings"))!.Status);
        await bob.GotoAsync("/u/alice");
        Assert.DoesNotContain("secret-app", await bob.ContentAsync());

        Assert.Empty(dialogs);
        await alice.Context.CloseAsync();
        await bob.Context.CloseAsync();
    }

    [Fact]
    public async Task A_form_without_a_valid_anti_forgery_token_is_refused_and_changes_nothing()
    {
        var alice = await server.SignedInPageAsync("alice");
        var tokens = server.Services.GetRequiredService<ITokens>();
        var before = (await tokens.ListTokensAsync("alice", default)).Count;
        var form = new Dictionary<string, string> { ["name"] = "forged", ["scopes"] = "*:*", ["expires"] = "1d" };

        // The browser's own cookies (session and anti-forgery) go along; only the field is missing or wrong.
        var without = await alice.Context.APIRequest.PostAsync("/settings/tokens", new() { Form = Form(alice, form) });
        Assert.Equal((int)HttpStatusCode.Forbidden, without.Status);
        var wrong = await alice.Context.APIRequest.PostAsync("/settings/tokens", new() { Form = Form(alice, new(form) { ["_csrf"] = "AAAA" }) });
        Assert.Equal((int)HttpStatusCode.Forbidden, wrong.Status);
        Assert.Equal(before, (await tokens.ListTokensAsync("alice", default)).Count);

        // A forged sign-in (no token) does not sign anyone in either.
        var context = await server.Browser.NewContextAsync(new() { BaseURL = server.BaseAddress.ToString() });
        var forged = await context.APIRequest.PostAsync("/signin", new() { Form = Form(alice, new() { ["username"] = "alice", ["password"] = UiServer.Password }), MaxRedirects = 0 });
        Assert.Equal((int)HttpStatusCode.Forbidden, forged.Status);
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "berth_session");

        // The page's own form, token included, works: the token is created and shown once.
        await alice.GotoAsync("/settings/tokens");
        await alice.GetByLabel("Name").FillAsync("ci");
        await alice.GetByRole(AriaRole.Button, new() { Name = "Create token" }).ClickAsync();
        Assert.StartsWith(Secrets.TokenPrefix, (await alice.Locator("#new-token").InnerTextAsync()).Trim());
        Assert.Equal(before + 1, (await tokens.ListTokensAsync("alice", default)).Count);
        await alice.GotoAsync("/settings/tokens");
        Assert.Equal(0, await alice.Locator("#new-token").CountAsync());
        Assert.Equal(1, await alice.Locator("table tbody tr", new() { HasText = "ci" }).CountAsync());
        await context.CloseAsync();
        await alice.Context.CloseAsync();
    }

    private static IFormData Form(IPage page, Dictionary<string, string> fields)
    {
        var form = page.Context.APIRequest.CreateFormData();
        foreach (var (k, v) in fields) form.Set(k, v);
        return form;
    }
}
