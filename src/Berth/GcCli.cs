using System.CommandLine;
using Berth.Configuration;
using Berth.Core;
using Berth.Core.Registry;
using Berth.Hosting;

namespace Berth;

/// <summary><c>berth gc</c>: garbage collection on the data directory (or the configured database and bucket), also while a server runs on it.</summary>
internal sealed partial class Cli
{
    private Command Gc()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "list and count what would go; change nothing" };
        var grace = new Option<string?>("--grace") { Description = "keep links, blobs and files younger than this (default gc.grace; 0s allowed)" };
        var deleteUntagged = new Option<bool>("--delete-untagged") { Description = "delete untagged manifests older than the grace window (default: gc.untagged)" };
        return BackendVerb("gc", "Remove untagged manifests (by policy), unused links, unreferenced blobs, expired uploads and files the metadata never recorded; prints the report",
            [dryRun, grace, deleteUntagged], async (parse, options, backends, ct) =>
            {
                TimeSpan? graceValue = null;
                if (parse.GetValue(grace) is { } text)
                {
                    graceValue = ConfigLoader.TryParseDuration(text, out var g) ? g
                        : throw new RegistryException(ErrorCode.InvalidRequest, $"--grace: \"{text}\" is not a duration (for example 0s, 30m, 1h)");
                }
                var storage = await Backends.OpenBlobStorageAsync(options, time, ct);
                var uploads = new UploadService(storage.Staging, backends.Uploads, backends.Claims, time);
                var collector = new GarbageCollector(backends.Garbage, storage.Blobs, backends.Uploads, uploads, time);
                var service = new GarbageCollection(collector, backends.Garbage, backends.JobLocks, options,
                    Microsoft.Extensions.Logging.Abstractions.NullLogger<GarbageCollection>.Instance);
                var report = await service.RunExclusiveAsync(
                    service.Options(parse.GetValue(dryRun), graceValue, parse.GetValue(deleteUntagged) ? "delete" : null), ct);
                output.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, GcJson.Default.GcReport));
            });
    }
}
