using Berth.Core.Storage;

namespace Berth.Core.Access;

/// <summary>
/// Small secrets every node of a deployment must agree on, such as the token signing key: created once by whichever
/// process asks first, then read by all. Contract for every backend: concurrent callers, in any process, all get the
/// value of the first caller that stored one; a stored value never changes.
/// </summary>
public interface ISharedSecrets
{
    /// <summary>The value stored under <paramref name="name"/>; when there is none, stores <paramref name="create"/>'s and returns it.</summary>
    Task<string> GetOrAddAsync(string name, Func<string> create, CancellationToken ct);
}

/// <summary>Secrets as files of a directory (the data directory of a single node): one file per name, readable by the owner only.</summary>
public sealed class FileSecrets(string directory) : ISharedSecrets
{
    public async Task<string> GetOrAddAsync(string name, Func<string> create, CancellationToken ct)
    {
        var path = Path.Combine(directory, name);
        if (File.Exists(path)) return await File.ReadAllTextAsync(path, ct);
        PrivateFiles.CreateDirectory(directory);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var f = new FileStream(temp, options))
        await using (var w = new StreamWriter(f))
        {
            await w.WriteAsync(create());
            await w.FlushAsync(ct);
            f.Flush(flushToDisk: true);
        }
        try
        {
            // Fails when the name is taken: the first writer's file wins, the others read it.
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
        }
        return await File.ReadAllTextAsync(path, ct);
    }
}
