using Microsoft.Playwright;

namespace Berth.UiTests;

/// <summary>
/// The main pages rendered at desktop and phone width (375 px): each page answers 200, nothing overflows the phone's
/// width, and the PNGs are written. To a temporary directory in a test run; scripts/screenshots.sh sets
/// BERTH_SCREENSHOTS to docs/screenshots to regenerate the README's pictures.
/// </summary>
[Collection(UiServer.Collection)]
public sealed class ScreenshotTests(UiServer server)
{
    [Fact]
    public async Task The_main_pages_render_at_desktop_and_phone_width()
    {
        var keep = Environment.GetEnvironmentVariable("BERTH_SCREENSHOTS") is { Length: > 0 } dir ? dir : null;
        var target = keep ?? Directory.CreateTempSubdirectory("berth-shots-").FullName;
        Directory.CreateDirectory(target);
        try
        {
            await RenderAsync(target);
        }
        finally
        {
            if (keep is null) Directory.Delete(target, true);
        }
    }

    private async Task RenderAsync(string target)
    {
        await server.PushAsync("alice", "alice/web:1.4.2", layers: 4);
        await server.PushAsync("alice", "alice/web:latest", layers: 5);
        await server.PushAsync("alice", "alice/worker:2.0", layers: 2);
        var owner = await server.SignedInPageAsync("alice");
        await owner.GotoAsync("/r/alice/web/-/settings");
        await owner.GetByLabel("public").CheckAsync();
        await owner.GetByLabel("Description (Markdown)").FillAsync("# web\n\nThe public web front end.\n\n```sh\ndocker run -p 8080:8080 web\n```\n\n- small\n- fast");
        await owner.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await owner.Context.CloseAsync();

        string[] pages = ["/", "/r/alice/web", "/r/alice/web/tags/latest", "/search?q=web", "/settings/tokens", "/signin"];
        foreach (var width in new[] { 1280, 375 })
        {
            var page = await server.SignedInPageAsync("alice", width);
            foreach (var path in pages)
            {
                var response = await page.GotoAsync(path);
                Assert.Equal(200, response!.Status);
                var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
                Assert.True(overflow <= 0, $"{path} is {overflow} px wider than {width} px");
                var name = (path.Trim('/').Split('?')[0].Replace('/', '-') is { Length: > 0 } n ? n : "home") + (width < 600 ? "-phone" : "") + ".png";
                await page.ScreenshotAsync(new() { Path = Path.Combine(target, name), FullPage = width >= 600 ? false : true, Type = ScreenshotType.Png });
                Assert.True(new FileInfo(Path.Combine(target, name)).Length > 1000);
            }
            await page.Context.CloseAsync();
        }
        // The dark theme follows the system's preference.
        var dark = await server.SignedInPageAsync("alice", 1280, ColorScheme.Dark);
        await dark.GotoAsync("/r/alice/web/tags/latest");
        Assert.Equal("rgb(13, 17, 23)", await dark.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor"));
        await dark.ScreenshotAsync(new() { Path = Path.Combine(target, "r-alice-web-tags-latest-dark.png"), Type = ScreenshotType.Png });
        await dark.Context.CloseAsync();
    }
}
