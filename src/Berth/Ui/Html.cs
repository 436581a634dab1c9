using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace Berth.Ui;

/// <summary>
/// Markup that is already safe: literals of our own templates, and the sanitizer's output. Nothing else becomes one;
/// every other value written into a page is encoded by <see cref="Html"/>.
/// </summary>
internal readonly record struct Markup(string Value)
{
    public override string ToString() => Value;
}

/// <summary>
/// A page being written. Escaped by default: in <c>page.Add($"&lt;a href=\"/r/{name}\"&gt;{name}&lt;/a&gt;")</c> the literal
/// parts are our markup and every hole is HTML-encoded (quotes included, so a hole is safe inside a quoted attribute),
/// unless the hole is a <see cref="Markup"/>.
/// </summary>
internal sealed class Html
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;
    private readonly StringBuilder _b = new(8192);

    public Html Add([InterpolatedStringHandlerArgument("")] ref HtmlHandler text) => this;

    /// <summary>Plain text, encoded.</summary>
    public Html Text(string? text)
    {
        if (text is not null) Encoder.Encode(new StringWriter(_b), text);
        return this;
    }

    public Html Raw(Markup markup)
    {
        _b.Append(markup.Value);
        return this;
    }

    internal void AppendLiteral(string s) => _b.Append(s);

    public override string ToString() => _b.ToString();

    public static string Encode(string? text) => text is null ? "" : Encoder.Encode(text);

    /// <summary>A whole fragment built the same way, for a value used twice or passed around.</summary>
    public static Markup Of([InterpolatedStringHandlerArgument] ref HtmlFragmentHandler text) => text.Result();

    [InterpolatedStringHandler]
    internal ref struct HtmlHandler
    {
        private readonly Html _html;

        public HtmlHandler(int literalLength, int formattedCount, Html html) => _html = html;

        public void AppendLiteral(string s) => _html.AppendLiteral(s);

        public void AppendFormatted(Markup m) => _html.Raw(m);

        public void AppendFormatted(string? s) => _html.Text(s);

        public void AppendFormatted(long n) => _html.AppendLiteral(n.ToString(CultureInfo.InvariantCulture));

        public void AppendFormatted<T>(T value) => _html.Text(Convert.ToString(value, CultureInfo.InvariantCulture));
    }

    [InterpolatedStringHandler]
    internal ref struct HtmlFragmentHandler
    {
        private readonly Html _html;

        public HtmlFragmentHandler(int literalLength, int formattedCount) => _html = new Html();

        public void AppendLiteral(string s) => _html.AppendLiteral(s);

        public void AppendFormatted(Markup m) => _html.Raw(m);

        public void AppendFormatted(string? s) => _html.Text(s);

        public void AppendFormatted(long n) => _html.AppendLiteral(n.ToString(CultureInfo.InvariantCulture));

        public void AppendFormatted<T>(T value) => _html.Text(Convert.ToString(value, CultureInfo.InvariantCulture));

        public readonly Markup Result() => new(_html.ToString());
    }
}

/// <summary>Sizes and times as people read them.</summary>
internal static class Human
{
    public static string Size(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    public static string Ago(DateTimeOffset then, DateTimeOffset now)
    {
        var span = now - then;
        if (span < TimeSpan.FromMinutes(1)) return "just now";
        if (span < TimeSpan.FromHours(1)) return Plural((int)span.TotalMinutes, "minute");
        if (span < TimeSpan.FromDays(1)) return Plural((int)span.TotalHours, "hour");
        if (span < TimeSpan.FromDays(60)) return Plural((int)span.TotalDays, "day");
        if (span < TimeSpan.FromDays(730)) return Plural((int)(span.TotalDays / 30.4), "month");
        return Plural((int)(span.TotalDays / 365.25), "year");
    }

    private static string Plural(int n, string unit) => $"{n} {unit}{(n == 1 ? "" : "s")} ago";

    /// <summary>An absolute UTC time for the title attribute beside <see cref="Ago"/>.</summary>
    public static string Exact(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
