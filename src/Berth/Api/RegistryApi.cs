using Berth.Auth;
using Berth.Core;
using Berth.Core.Access;

namespace Berth.Api;

/// <summary>
/// The registry API under /v2 (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints).
/// <see cref="V2Route"/> parses the path, every route is authorized by <see cref="AccessControl"/> before the table
/// in <see cref="Dispatch"/> picks the handler, and failures are answered by <see cref="ErrorResponse"/> with the
/// Bearer challenge that sends clients to the token endpoint.
/// </summary>
internal sealed class RegistryApi(BlobEndpoints blobs, UploadEndpoints uploads, ManifestEndpoints manifests, ListEndpoints lists,
    Authenticator auth, AccessControl access, AuditTrail audit, PullLimits limits, Configuration.BerthOptions options, ILogger<RegistryApi> log)
{
    // One delegate for the process: converting the method group at each failure would allocate (misses are frequent).
    private readonly ErrorResponse.Challenge _challenge = auth.BearerChallenge;

    private static readonly AuthChallenge CatalogChallenge = new("registry:catalog:*", null);

    public async Task HandleAsync(HttpContext ctx, string path)
    {
        try
        {
            var caller = await auth.AuthenticateAsync(ctx);
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
        catch (Exception e)
        {
            await ErrorResponse.WriteAsync(ctx, e, _challenge, log);
        }
    }

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
                throw new RegistryException(ErrorCode.Unauthorized, "authentication required",
                    challenge: route.Kind == RouteKind.Catalog ? CatalogChallenge : null);
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
                throw new RegistryException(ErrorCode.Unauthorized, "authentication required", detail,
                    new AuthChallenge($"repository:{route.Name}:{AccessText.Format(needs)}", caller.Granted is not null ? "insufficient_scope" : null));
            }
            throw new RegistryException(ErrorCode.Denied, "requested access to the resource is denied", detail);
        }
        if (route.Kind == RouteKind.Manifest && method == "GET") await limits.CountAsync(ctx, caller);
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
        (RouteKind.Manifest or RouteKind.Blob, "DELETE") when !options.Storage.DeleteEnabled => throw new RegistryException(ErrorCode.Unsupported, "deletes are disabled (storage.delete.enabled: false)"),
        (RouteKind.Manifest, "DELETE") => manifests.Delete(ctx, route.Name, route.Argument),
        (RouteKind.Blob, "GET" or "HEAD") => blobs.Get(ctx, route.Name, route.Argument),
        (RouteKind.Blob, "DELETE") => blobs.Delete(ctx, route.Name, route.Argument),
        (RouteKind.UploadStart, "POST") => uploads.Start(ctx, route.Name, caller),
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
}
