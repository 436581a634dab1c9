using Microsoft.Playwright;

namespace Berth.UiTests;

/// <summary>
/// Organisations through the pages: an owner creates one, adds a member and a team, grants the team a role on a
/// repository; the rights follow at once (the member sees the private repository), and a member who is no owner gets
/// no forms and is refused the changes.
/// </summary>
[Collection(UiServer.Collection)]
public sealed class OrganizationTests(UiServer server)
{
    [Fact]
    public async Task An_owner_builds_an_organisation_and_its_grants_decide_who_sees_what()
    {
        await server.PushAsync("admin", "acme/private-api:1.0", layers: 1);
        var admin = await server.SignedInPageAsync("admin");
        await admin.GotoAsync("/settings/orgs/new");
        await admin.GetByLabel("Name").FillAsync("acme");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await admin.WaitForURLAsync("**/u/acme");
        await admin.GetByLabel("Add or change a member").FillAsync("alice");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Save member" }).ClickAsync();
        await admin.GetByLabel("New team").FillAsync("readers");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create team" }).ClickAsync();
        await admin.GetByLabel("Add a user to readers").FillAsync("bob");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        Assert.Contains("bob", await admin.Locator("main").InnerTextAsync());

        var bob = await server.SignedInPageAsync("bob");
        Assert.Equal(404, (await bob.GotoAsync("/r/acme/private-api"))!.Status);

        await admin.GotoAsync("/r/acme/private-api/-/settings");
        await admin.GetByLabel("Subject").FillAsync("team:acme/readers");
        await admin.GetByLabel("Role").SelectOptionAsync("read");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Set role" }).ClickAsync();
        Assert.Contains("team:acme/readers", await admin.Locator("main table").InnerTextAsync());

        // Bob reads it now, without the settings link or delete buttons a reader may not use.
        var page = await bob.GotoAsync("/r/acme/private-api");
        Assert.Equal(200, page!.Status);
        Assert.Equal(0, await bob.Locator("main a[href='/r/acme/private-api/-/settings']").CountAsync());
        Assert.Equal(0, await bob.GetByRole(AriaRole.Button, new() { Name = "Delete tag 1.0" }).CountAsync());
        Assert.Equal(403, (await bob.GotoAsync("/r/acme/private-api/-/settings"))!.Status);

        // Bob, a team member but no owner, sees members and teams but no forms; a posted change is refused.
        await bob.GotoAsync("/u/acme");
        Assert.Equal(0, await bob.GetByRole(AriaRole.Button, new() { Name = "Create team" }).CountAsync());
        var token = await bob.Locator("input[name=_csrf]").First.GetAttributeAsync("value");
        var form = bob.Context.APIRequest.CreateFormData();
        form.Set("_csrf", token!);
        form.Set("team", "bobs");
        var refused = await bob.Context.APIRequest.PostAsync("/u/acme/-/teams", new() { Form = form });
        Assert.Equal(403, refused.Status);
        await bob.GotoAsync("/u/acme");
        Assert.DoesNotContain("bobs", await bob.Locator("main").InnerTextAsync());

        await admin.Context.CloseAsync();
        await bob.Context.CloseAsync();
    }
}
