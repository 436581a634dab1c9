using System.CommandLine;
using Berth.Core;
using Berth.Hosting;
using Berth.Hosting.Import;

namespace Berth;

/// <summary>The verbs that move images in and out without a client: <c>import registry2</c>, <c>import oci</c>, <c>export</c>.</summary>
internal sealed partial class Cli
{
    private Command Import()
    {
        var source = new Argument<string>("source") { Description = "distribution's storage.filesystem.rootdirectory (the directory holding docker/registry/v2)" };
        var registry2 = new Command("registry2", "Import a distribution (registry:2) filesystem store: every repository, blob, manifest and tag, each blob checked by digest; "
            + "what is already here is kept, so it can be run again") { source, ConfigOption, DataOption };
        registry2.SetAction((parse, ct) => RunImportAsync(parse, (backends, storage, importer) =>
        {
            var path = parse.GetValue(source)!;
            var store = Registry2Store.Find(path)
                ?? throw new StartupException($"{path} holds no distribution store (no docker/registry/v2 with repositories or blobs)", ExitCodes.Usage);
            output.WriteLine($"importing the distribution store at {store.Root}");
            return store.Repositories(importer.Report.Skip);
        }, ct));

        var layout = new Argument<string>("layout") { Description = "the OCI image layout directory (oci-layout, index.json, blobs/)" };
        var repository = new Argument<string>("repository") { Description = "the repository to import into; tags come from org.opencontainers.image.ref.name" };
        var oci = new Command("oci", "Import an OCI image layout (as skopeo, umoci and oras write it) into a repository: every manifest index.json lists, with its children and blobs") { layout, repository, ConfigOption, DataOption };
        oci.SetAction((parse, ct) => RunImportAsync(parse, (_, _, _) => [OciLayout.Read(parse.GetValue(layout)!, parse.GetValue(repository)!)], ct));
        return new Command("import", "Import images from another registry's store or an image layout, without a client") { registry2, oci };
    }

    private Command Export()
    {
        var what = new Argument<string>("repository[:tag]") { Description = "the repository, and the tag to export (default: every tag)" };
        var dir = new Argument<string>("dir") { Description = "the OCI image layout to write (created when missing; an existing one keeps its other tags)" };
        var export = new Command("export", "Write a repository's tags, with every manifest and blob they reach, into an OCI image layout") { what, dir, ConfigOption, DataOption };
        export.SetAction(async (parse, ct) =>
        {
            var name = CommandPath(parse.CommandResult);
            if (LoadOptions(parse, checkFiles: false) is not { } options) return ExitCodes.Usage;
            var text = parse.GetValue(what)!;
            var colon = text.LastIndexOf(':');
            var (repository, tag) = colon > text.LastIndexOf('/') ? (text[..colon], text[(colon + 1)..]) : (text, null);
            if (!Names.IsValidRepository(repository) || (tag is not null && !Names.IsValidTag(tag)))
            {
                error.WriteLine($"{name}: {text} is not a repository name with an optional :tag");
                return ExitCodes.Usage;
            }
            try
            {
                var backends = await Backends.OpenAsync(options, create: false, time, [], ct);
                var storage = await Backends.OpenBlobStorageAsync(options, time, ct);
                var (tags, blobs, bytes) = await OciLayout.ExportAsync(backends, storage, repository, tag, parse.GetValue(dir)!, ct);
                output.WriteLine($"exported {tags} tags of {repository} to {parse.GetValue(dir)}: {blobs} blobs written ({bytes >> 20} MiB)");
                return ExitCodes.Ok;
            }
            catch (StartupException e)
            {
                error.WriteLine($"{name}: {e.Message}");
                return e.ExitCode;
            }
            catch (RegistryException e)
            {
                error.WriteLine($"{name}: {e.Message}");
                return ExitCodes.Failed;
            }
        });
        return export;
    }

    /// <summary>Opens the configured backends (creating the registry), imports what <paramref name="plans"/> lists, prints the report; exit 1 when anything was skipped.</summary>
    private async Task<int> RunImportAsync(ParseResult parse, Func<Backends, BlobStorage, Importer, IEnumerable<ImportPlan>> plans, CancellationToken ct)
    {
        var name = CommandPath(parse.CommandResult);
        if (LoadOptions(parse, checkFiles: false) is not { } options) return ExitCodes.Usage;
        try
        {
            var notices = new List<string>();
            var backends = await Backends.OpenAsync(options, create: true, time, notices, ct);
            foreach (var notice in notices) error.WriteLine($"{name}: {notice}");
            var storage = await Backends.OpenBlobStorageAsync(options, time, ct);
            var importer = new Importer(storage, backends, time);
            foreach (var plan in plans(backends, storage, importer))
            {
                await importer.ImportAsync(plan, ct);
            }
            foreach (var line in importer.Report.Summary()) output.WriteLine(line);
            return importer.Report.Skipped.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (StartupException e)
        {
            error.WriteLine($"{name}: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or RegistryException)
        {
            // The target failed (storage or database): what was imported stays, a second run continues from there.
            error.WriteLine($"{name}: stopped: {e.Message}; run it again to continue");
            return ExitCodes.Failed;
        }
    }
}
