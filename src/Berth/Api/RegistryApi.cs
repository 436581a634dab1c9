using System.Text.Json;
using Berth.Auth;
using Berth.Core;
using Berth.Core.Access;

namespace Berth.Api;

/// <summary>
/// The HTTP front door: the OCI distribution API (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints),
/// the token endpoint, search and the management API, as one terminal middleware. <see cref="V2Route"/> parses the path,
/// every registry route is authorized by <see cref="AccessControl"/> before the table in <see cref="Dispatch"/> picks the
/// handler, and <see cref="WriteErrorAsync"/> is the one place that writes the spec's error body and the auth challenge.
/// </summary>
internal sealed partial class RegistryApi(BlobEndpoints blobs, UploadEndpoints uploads, ManifestEndpoints manifests, ListEndpoints lists,
    Authenticator auth, AccessControl access, AuditTrail audit, PullLimits limits, TokenEndpoint token, ManagementApi management,
    ILogger<RegistryApi> log)
{
    public async Task HandleAsync(HttpContext ctx)
    {
        ctx.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
        try
        {
            var path = ctx.Request.Path.Value ?? "";
            if (path == "/token")
            {
                await token.HandleAsync(ctx);
                return;
            }
            var caller = await auth.AuthenticateAsync(ctx);
            if (path.StartsWith("/api/v1/", StringComparison.Ordinal))
            {
                await management.HandleAsync(ctx, await auth.LiveAsync(ctx, caller), path["/api/v1/".Length..]);
                return;
            }
            if (path == "/v1/search")
            {
                await management.DockerSearchAsync(ctx, await auth.LiveAsync(ctx, caller));
                return;
            }
            var route = V2Route.Parse(path)
                ?? throw new RegistryException(ErrorCode.NameUnknown, "no such endpoint");
            if (route.Kind is not (RouteKind.Base or RouteKind.Catalog) && !Names.IsValidRepository(route.Name))
            {
                throw new RegistryException(ErrorCode.NameInvalid, "invalid repository name", ErrorDetail.Of(("name", ErrorDetail.Clip(route.Name))));
            }
            await AuthorizeAsync(ctx, caller, route);
            await Dispatch(ctx, route, caller);
            if (ctx.Request.Method is not ("GET" or "HEAD")) access.Forget(route.Name);
            await AuditAsync(ctx, caller, route);
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

    /// <summary>What each route needs (distribution's mapping: uploads need pull and push, deletes need delete).</summary>
    private static RepoActions Needs(RouteKind kind, string method) => (kind, method) switch
    {
        (RouteKind.Base or RouteKind.Catalog, _) => RepoActions.None,
        (RouteKind.Tags or RouteKind.Referrers, _) => RepoActions.Pull,
        (RouteKind.Manifest or RouteKind.Blob, "GET" or "HEAD") => RepoActions.Pull,
        (RouteKind.Manifest or RouteKind.Blob, "DELETE") => RepoActions.Delete,
        (RouteKind.Manifest, _) => RepoActions.Pull | RepoActions.Push,
        (RouteKind.UploadStart or RouteKind.Upload, _) => RepoActions.Pull | RepoActions.Push,
        _ => RepoActions.Pull,
    };

    /// <summary>
    /// Refuses a request the caller may not make. A private repository and a missing one are refused alike
    /// (the decision never looks at existence), so an outsider learns nothing from the answer.
    /// </summary>
    private async Task AuthorizeAsync(HttpContext ctx, Caller caller, V2Route route)
    {
        var method = ctx.Request.Method;
        var needs = Needs(route.Kind, method);
        if (needs == RepoActions.None)
        {
            // The base endpoint tells clients where to sign in; the catalog is filtered per caller.
            if (caller.IsAnonymous && caller.Granted is null && await access.IsEnabledAsync(ctx.RequestAborted))
            {
                if (route.Kind == RouteKind.Catalog) ctx.Items[Authenticator.ScopeItem] = "registry:catalog:*";
                throw new RegistryException(ErrorCode.Unauthorized, "authentication required");
            }
            return;
        }
        var granted = await access.DecideAsync(caller, route.Name, needs, ctx.RequestAborted);
        if (granted != needs)
        {
            var detail = ErrorDetail.Of(("name", route.Name), ("action", AccessText.Format(needs & ~granted)));
            if (caller.IsAnonymous || caller.Granted is not null)
            {
                // Anonymous or a bearer token without this scope: the challenge says which scope to ask the token endpoint for.
                ctx.Items[Authenticator.ScopeItem] = $"repository:{route.Name}:{AccessText.Format(needs)}";
                if (caller.Granted is not null) ctx.Items[Authenticator.ErrorItem] = "insufficient_scope";
                throw new RegistryException(ErrorCode.Unauthorized, "authentication required", detail);
            }
            throw new RegistryException(ErrorCode.Denied, "requested access to the resource is denied", detail);
        }
        if (route.Kind == RouteKind.Manifest && method == "GET") limits.Count(ctx, caller);
    }

    /// <summary>Pushes and deletes go to the audit log.</summary>
    private Task AuditAsync(HttpContext ctx, Caller caller, V2Route route)
    {
        var action = (route.Kind, ctx.Request.Method) switch
        {
            (RouteKind.Manifest, "PUT") => "push",
            (RouteKind.Manifest or RouteKind.Blob, "DELETE") => "delete",
            _ => null,
        };
        return action is null || ctx.Response.StatusCode >= 400
            ? Task.CompletedTask
            : audit.RecordAsync(caller.Address is null ? caller with { Address = auth.ClientAddress(ctx) } : caller, action, $"{route.Name}{(route.Argument.Contains(':') ? "@" : ":")}{route.Argument}", true, null, CancellationToken.None);
    }

    /// <summary>Every route of the API, by path shape and method.</summary>
    private Task Dispatch(HttpContext ctx, V2Route route, Caller caller) => (route.Kind, ctx.Request.Method) switch
    {
        (RouteKind.Base, "GET" or "HEAD") => lists.Base(ctx),
        (RouteKind.Catalog, "GET") => CatalogAsync(ctx, caller),
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

    private async Task CatalogAsync(HttpContext ctx, Caller caller)
    {
        await lists.Catalog(ctx, await auth.LiveAsync(ctx, caller));
    }

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
        if (response.StatusCode == 401)
        {
            var path = ctx.Request.Path.Value ?? "";
            response.Headers.WWWAuthenticate = path.StartsWith("/v2", StringComparison.Ordinal) ? auth.Challenge(ctx) : "Basic realm=\"berth\", charset=\"UTF-8\"";
        }
        if (ctx.Request.Method == "HEAD") return;
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody([new ErrorItem(wire, message, detail)]), WireJson.Api.ErrorBody);
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }
}
