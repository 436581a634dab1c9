using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Berth.Hosting;

/// <summary>
/// The console's line format: the simple formatter's single line (UTC timestamp, level, category[event id], message,
/// exception folded onto the line), except for the access log. There the event id sat where a reader looks for the
/// status (<c>Berth.Hosting.AccessLog[200] GET /v2/... 404</c>); its lines are the request alone:
/// <c>info: access GET /v2/... 404 1.2ms 127.0.0.1</c>.
/// </summary>
internal sealed class LogFormat() : ConsoleFormatter(FormatName)
{
    public const string FormatName = "berth";

    public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopeProvider, TextWriter writer)
    {
        var message = entry.Formatter(entry.State, entry.Exception);
        if (message is null && entry.Exception is null) return;
        writer.Write(DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ ", CultureInfo.InvariantCulture));
        writer.Write(Level(entry.LogLevel));
        if (entry.Category == AccessLog.Category)
        {
            writer.Write(": access ");
        }
        else
        {
            writer.Write(": ");
            writer.Write(entry.Category);
            writer.Write('[');
            writer.Write(entry.EventId.Id.ToString(CultureInfo.InvariantCulture));
            writer.Write("] ");
        }
        writer.Write(message);
        if (entry.Exception is { } e)
        {
            writer.Write(' ');
            writer.Write(e.ToString().ReplaceLineEndings(" "));
        }
        writer.WriteLine();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
