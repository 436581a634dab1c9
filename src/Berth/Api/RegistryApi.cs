using System.Text.Json;
using Berth.Core;

namespace Berth.Api;

/// <summary>
/// The OCI distribution API (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints)
/// as one terminal middleware: <see cref="V2Route"/> parses the path, the table in <see cref="Dispatch"/> picks the
/// handler, and <see cref="WriteErrorAsync"/> is the one place that writes the spec's error body.
/// </summary>
internal sealed partial class RegistryApi(BlobEndpoints blobs, UploadEndpoints uploads, ManifestEndpoints manifests, ListEndpoints lists, ILogger<RegistryApi> log)
{
    public async Task HandleAsync(HttpContext ctx)
    {
        ctx.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        try
        {
            var route = V2Route.Parse(ctx.Request.Path.Value ?? "")
                ?? throw new RegistryException(ErrorCode.NameUnknown, "no such endpoint");
            if (route.Kind is not (RouteKind.Base or RouteKind.Catalog) && !Names.IsValidRepository(route.Name))
            {
                throw new RegistryException(ErrorCode.NameInvalid, "invalid repository name", ErrorDetail.Of(("name", ErrorDetail.Clip(route.Name))));
            }
            await Dispatch(ctx, route);
        }
        catch (RegistryException e)
        {
            await WriteErrorAsync(ctx, e.Code, e.Message, e.Detail);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's verdict on the request itself: body shorter than Content-Length, too large, too slow.
            await WriteErrorAsync(ctx, e.StatusCode == 413 ? ErrorCode.TooLarge : ErrorCode.BlobUploadInvalid, e.Message, null, e.StatusCode);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception e) when (e is IOException && ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The server's own fault (disk full, database unavailable): logged in full, answered in the spec's shape.
            ServerFault(e, ctx.Request.Method, ctx.Request.Path.Value ?? "");
            await WriteErrorAsync(ctx, ErrorCode.Unknown, "internal error; the registry's log has the details", null);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private partial void ServerFault(Exception e, string method, string path);

    /// <summary>Every route of the API, by path shape and method.</summary>
    private Task Dispatch(HttpContext ctx, V2Route route) => (route.Kind, ctx.Request.Method) switch
    {
        (RouteKind.Base, "GET" or "HEAD") => lists.Base(ctx),
        (RouteKind.Catalog, "GET") => lists.Catalog(ctx),
        (RouteKind.Tags, "GET") => lists.Tags(ctx, route.Name),
        (RouteKind.Referrers, "GET") => lists.Referrers(ctx, route.Name, route.Argument),
        (RouteKind.Manifest, "GET" or "HEAD") => manifests.Get(ctx, route.Name, route.Argument),
        (RouteKind.Manifest, "PUT") => manifests.Put(ctx, route.Name, route.Argument),
        (RouteKind.Manifest, "DELETE") => manifests.Delete(ctx, route.Name, route.Argument),
        (RouteKind.Blob, "GET" or "HEAD") => blobs.Get(ctx, route.Name, route.Argument),
        (RouteKind.Blob, "DELETE") => blobs.Delete(ctx, route.Name, route.Argument),
        (RouteKind.UploadStart, "POST") => uploads.Start(ctx, route.Name),
        (RouteKind.Upload, "PATCH") => uploads.Patch(ctx, route.Name, route.Argument),
        (RouteKind.Upload, "PUT") => uploads.Put(ctx, route.Name, route.Argument),
        (RouteKind.Upload, "GET") => uploads.Status(ctx, route.Name, route.Argument),
        (RouteKind.Upload, "DELETE") => uploads.Cancel(ctx, route.Name, route.Argument),
        _ => throw new RegistryException(ErrorCode.Unsupported, $"{ctx.Request.Method} is not supported here"),
    };

    public async Task WriteErrorAsync(HttpContext ctx, ErrorCode code, string message, IReadOnlyDictionary<string, string>? detail, int? status = null)
    {
        var (wire, defaultStatus) = ErrorTable.Of(code);
        var response = ctx.Response;
        if (response.HasStarted)
        {
            // Headers are gone; all that is left is to cut the connection so the client sees a failure, not a short body.
            log.LogWarning("error {Code} after the response started: {Message}", wire, message);
            ctx.Abort();
            return;
        }
        response.StatusCode = status ?? defaultStatus;
        if (ctx.Request.Method == "HEAD") return;
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody([new ErrorItem(wire, message, detail)]), WireJson.Default.ErrorBody);
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }
}
