namespace Berth.Core.Storage;

/// <summary>
/// The data directory holds password and token hashes and every private image, so what Berth creates there is
/// for its own user only: directories 0700, files 0600, with the mode given at creation (no window in which
/// another user could open a file before a chmod).
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the directory and any missing parents as 0700; an existing one is left as it is.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        if (Directory.Exists(path)) return;
        // Directory.CreateDirectory(path, mode) gives the mode to the last directory only; its parents get the umask's.
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null) CreateDirectory(parent);
        Directory.CreateDirectory(path, DirectoryMode);
    }

    /// <summary>Options that create a missing file as 0600.</summary>
    public static FileStreamOptions Options(System.IO.FileMode mode, FileAccess access, FileShare share = FileShare.Read, int bufferSize = 4096, FileOptions options = FileOptions.None)
    {
        var o = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows() && mode != System.IO.FileMode.Open && mode != System.IO.FileMode.Truncate) o.UnixCreateMode = FileMode;
        return o;
    }
}
