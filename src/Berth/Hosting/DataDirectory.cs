using Berth.Configuration;
using Berth.Core.Storage;
using Berth.Metadata;
using Microsoft.Data.Sqlite;

namespace Berth.Hosting;

/// <summary>The process exit codes, for serve and every verb alike.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The operation was refused or failed (not found, not allowed, conflict), or the server could not start.</summary>
    public const int Failed = 1;

    /// <summary>The command line or the configuration is wrong: nothing was done.</summary>
    public const int Usage = 2;
}

/// <summary>A reason not to start, in one line that names the path or value and the cause.</summary>
internal sealed class StartupException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Opens the data directory and its database for <c>serve</c> and every CLI verb alike.</summary>
internal static class DataDirectory
{
    public const string DatabaseFile = "berth.db";

    /// <summary>The database and the files SQLite keeps beside it in WAL mode.</summary>
    private static string[] DatabaseFiles(string file) => [file, file + "-wal", file + "-shm"];

    /// <summary>
    /// Opens (with <paramref name="create"/>, creates) the registry in <paramref name="data"/>. A directory or database
    /// file that other users may read is made private (0700, 0600); each such change is added to <paramref name="notices"/>.
    /// </summary>
    public static async Task<SqliteDatabase> OpenAsync(string data, bool create, List<string> notices, TimeProvider time, CancellationToken ct)
    {
        var root = Path.GetFullPath(data);
        var file = Path.Combine(root, DatabaseFile);
        if (!create && !Path.Exists(file))
        {
            try
            {
                if (Directory.Exists(root)) Directory.EnumerateFileSystemEntries(root).Any();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StartupException($"cannot open {root}: {ConfigLoader.Describe(e)}");
            }
            throw new StartupException(Directory.Exists(root)
                ? $"{root} holds no registry (no {DatabaseFile}); check --data or --config ('berth serve' creates a registry)"
                : $"{root} does not exist; check --data or --config ('berth serve' creates a registry)", ExitCodes.Usage);
        }
        try
        {
            PrivateFiles.CreateDirectory(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot create {root}: {ConfigLoader.Describe(e)}");
        }
        Tighten(root, PrivateFiles.DirectoryMode, notices);
        foreach (var f in DatabaseFiles(file)) Tighten(f, PrivateFiles.FileMode, notices);
        try
        {
            return await SqliteDatabase.OpenAsync(file, time, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot create {file}: {ConfigLoader.Describe(e)}");
        }
        catch (SqliteException e)
        {
            throw new StartupException($"cannot open {file}: {Cause(file, e)}");
        }
    }

    /// <summary>
    /// SQLite says "unable to open database file" for every cause (error 14); look at the files for the real one.
    /// </summary>
    private static string Cause(string file, SqliteException e)
    {
        foreach (var f in DatabaseFiles(file))
        {
            if (Directory.Exists(f)) return $"{Path.GetFileName(f)} is a directory";
            if (!File.Exists(f)) continue;
            try
            {
                File.OpenHandle(f, FileMode.Open, FileAccess.ReadWrite).Dispose();
            }
            catch (Exception probe) when (probe is IOException or UnauthorizedAccessException)
            {
                return $"{Path.GetFileName(f)}: {ConfigLoader.Describe(probe)}";
            }
        }
        // "SQLite Error 26: 'file is not a database'." -> "file is not a database (SQLite error 26)"
        var text = e.Message;
        var start = text.IndexOf('\'');
        var end = text.LastIndexOf('\'');
        return (start >= 0 && end > start ? text[(start + 1)..end] : text) + $" (SQLite error {e.SqliteErrorCode})";
    }

    private static void Tighten(string path, UnixFileMode mode, List<string> notices)
    {
        if (OperatingSystem.IsWindows() || !Path.Exists(path)) return;
        var current = File.GetUnixFileMode(path);
        if ((current & ~mode) == 0) return;
        try
        {
            File.SetUnixFileMode(path, current & mode);
            notices.Add($"{path} was open to other users ({Octal(current)}); made it {Octal(current & mode)}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notices.Add($"{path} is open to other users ({Octal(current)}) and could not be made private: {ConfigLoader.Describe(e)}");
        }
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8);
}
