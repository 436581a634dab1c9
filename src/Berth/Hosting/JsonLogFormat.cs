using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Berth.Api;
using Berth.Core.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Berth.Hosting;

/// <summary>
/// <c>logFormat: json</c>: one JSON object a line. Always <c>time</c>, <c>level</c>, <c>category</c>, <c>event</c> and
/// <c>message</c>; the message's named values as fields of their own (the access log's <c>method</c>, <c>path</c>,
/// <c>status</c>, <c>elapsedMs</c>, <c>client</c>); inside a request its <c>requestId</c> (the one answered in
/// <c>X-Request-Id</c>) and, for the registry API, the <c>repository</c> and <c>reference</c> (tag or digest) of its path;
/// <c>exception</c> when there is one. Nothing here reads headers, so credentials cannot reach a line.
/// </summary>
internal sealed class JsonLogFormat() : ConsoleFormatter(FormatName)
{
    public const string FormatName = "berth-json";

    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopeProvider, TextWriter writer)
    {
        var message = entry.Formatter(entry.State, entry.Exception);
        if (message is null && entry.Exception is null) return;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            json.WriteString("time", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("level", entry.LogLevel.ToString());
            json.WriteString("category", entry.Category == AccessLog.Category ? "access" : entry.Category);
            json.WriteNumber("event", entry.EventId.Id);
            json.WriteString("message", message);
            if (RequestContext.Current is { } request)
            {
                json.WriteString("requestId", request.RequestId);
                if (V2Route.Parse(request.Path) is { } route && route.Name.Length > 0)
                {
                    json.WriteString("repository", route.Name);
                    if (route.Kind is RouteKind.Manifest or RouteKind.Blob or RouteKind.Referrers) json.WriteString("reference", route.Argument);
                }
            }
            if (entry.State is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key == "{OriginalFormat}" || key.Length == 0) continue;
                    var name = char.ToLowerInvariant(key[0]) + key[1..];
                    if (name is "time" or "level" or "category" or "event" or "message" or "requestId" or "repository" or "reference" or "exception") name = "value." + name;
                    switch (value)
                    {
                        case null:
                            json.WriteNull(name);
                            break;
                        case int or long or short or byte:
                            json.WriteNumber(name, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                            break;
                        case double d:
                            json.WriteNumber(name, Math.Round(d, 3));
                            break;
                        case bool b:
                            json.WriteBoolean(name, b);
                            break;
                        default:
                            json.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                            break;
                    }
                }
            }
            if (entry.Exception is { } e) json.WriteString("exception", e.ToString());
            json.WriteEndObject();
        }
        writer.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        writer.Write('\n');
    }
}
