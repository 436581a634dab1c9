namespace Berth.Backends.Tests;

public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("berth-test-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
