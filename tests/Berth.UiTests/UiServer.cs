using System.Diagnostics;
using Berth.Configuration;
using Berth.Core.Access;
using Berth.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Berth.UiTests;

/// <summary>
/// The real server on a free port of 127.0.0.1 with authentication on (admin, alice, bob), and one headless Debian
/// chromium driven by Playwright. Playwright's driver comes with the NuGet package; the browser is the system's
/// (<see cref="ChromiumPath"/>), never a download: a missing one fails with a message saying how to install it.
/// </summary>
public sealed class UiServer : IAsyncLifetime
{
    /// <summary>One server and one browser for every test class (each test signs in its own browser context).</summary>
    public const string Collection = "ui";

    public const string ChromiumPath = "/usr/bin/chromium";
    public const string Password = "correct-horse-1";

    private WebApplication? _app;
    private IPlaywright? _playwright;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("berth-ui-").FullName;
    public Uri BaseAddress { get; private set; } = null!;
    public string Registry => $"{BaseAddress.Host}:{BaseAddress.Port}";
    public IBrowser Browser { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath)) throw new InvalidOperationException($"{ChromiumPath} is missing: apt-get install chromium (test.sh installs it)");
        var app = await ServerHost.BuildAsync(new BerthOptions
        {
            Listen = "127.0.0.1:0",
            Data = DataDirectory,
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            Auth = new AuthOptions { AdminPassword = Password },
        }, TimeProvider.System);
        await app.StartAsync();
        _app = app;
        BaseAddress = new Uri(app.Urls.Single());
        var admin = app.Services.GetRequiredService<Administration>();
        await admin.CreateUserAsync(AccountRules.Operator, "alice", Password, false, default);
        await admin.CreateUserAsync(AccountRules.Operator, "bob", Password, false, default);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh browser context (its own cookies) at 375 px or desktop width, signed in as <paramref name="user"/> through the form.</summary>
    public async Task<IPage> SignedInPageAsync(string? user, int width = 1280, ColorScheme scheme = ColorScheme.Light)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = 900 }, ColorScheme = scheme });
        // Generous: the machine running the tests may be shared with heavy builds.
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(60_000);
        var page = await context.NewPageAsync();
        if (user is null) return page;
        await page.GotoAsync("/signin");
        await page.GetByLabel("User name").FillAsync(user);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        try
        {
            await page.WaitForURLAsync(BaseAddress.ToString());
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException($"signing in {user} did not lead to the start page: at {page.Url}: {await page.Locator("main").InnerTextAsync()}", e);
        }
        return page;
    }

    /// <summary>Pushes a fresh image with <paramref name="layers"/> layers (tests/clients/make-image.py) with skopeo, as <paramref name="user"/>.</summary>
    public async Task PushAsync(string user, string target, int layers = 3)
    {
        var work = Directory.CreateTempSubdirectory("berth-ui-img-").FullName;
        try
        {
            await RunAsync("python3", Path.Combine(RepositoryRoot, "tests", "clients", "make-image.py"), Path.Combine(work, "img"), "amd64", layers.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await RunAsync("skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", $"{user}:{Password}", $"oci:{work}/img:latest", $"docker://{Registry}/{target}");
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    private static async Task RunAsync(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is missing ({e.Message}): apt-get install {tool} (test.sh installs it)");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
        }
    }

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Berth.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Berth.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        try
        {
            Directory.Delete(DataDirectory, true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(UiServer.Collection)]
public sealed class UiCollection : ICollectionFixture<UiServer>;
