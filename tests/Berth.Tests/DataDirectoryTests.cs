using Berth.Configuration;
using Berth.Hosting;
using Berth.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Berth.Tests;

/// <summary>
/// The data directory holds password and token hashes and private images: what Berth creates there is its user's only
/// (directories 0700, files 0600), and a directory left open to others is closed at start. tests/run/service-account.sh
/// checks the same as another Unix user.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-modes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const UnixFileMode Dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static async Task<WebApplication> StartAsync(string data)
    {
        var app = await ServerHost.BuildAsync(new BerthOptions { Listen = "127.0.0.1:0", Data = data, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning }, TimeProvider.System);
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task EverythingBerthCreatesIsPrivate()
    {
        var data = Path.Combine(_dir, "new", "data");
        await using (var app = await StartAsync(data))
        {
            using var client = new RegistryClient(new Uri(Assert.Single(app.Urls)));
            await client.PushImageAsync("team/app", "1");
            await client.StartUploadAsync("team/app");
            Assert.True(File.Exists(Path.Combine(data, "berth.db-wal")), "the database runs in WAL mode");
            var files = Directory.GetFiles(data, "*", SearchOption.AllDirectories);
            Assert.Contains(files, f => f.Contains("/blobs/sha256/", StringComparison.Ordinal));
            Assert.Contains(files, f => f.Contains("/uploads/", StringComparison.Ordinal));
            var open = files.Where(f => File.GetUnixFileMode(f) != File600)
                .Concat(Directory.GetDirectories(data, "*", SearchOption.AllDirectories).Append(data).Append(Path.GetDirectoryName(data)!).Where(d => File.GetUnixFileMode(d) != Dir))
                .Select(p => $"{p} {File.GetUnixFileMode(p)}").ToList();
            Assert.Empty(open);
        }
    }

    [Fact]
    public async Task ADataDirectoryOpenToOthersIsClosedAtStart()
    {
        var data = Path.Combine(_dir, "old");
        await (await StartAsync(data)).DisposeAsync();
        File.SetUnixFileMode(data, Dir | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(Path.Combine(data, "berth.db"), File600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var notices = new List<string>();
        await DataDirectory.OpenAsync(data, create: false, notices, TimeProvider.System, default);
        Assert.Equal(Dir, File.GetUnixFileMode(data));
        Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(data, "berth.db")));
        Assert.Equal([$"{data} was open to other users (0755); made it 0700", $"{Path.Combine(data, "berth.db")} was open to other users (0644); made it 0600"], notices);
    }
}
