using System.Globalization;
using System.Text;

namespace Berth.Tests.Support;

/// <summary>
/// A strict reader of Prometheus' text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
/// every line is a HELP, a TYPE, another comment, blank, or a sample; names and label names follow the grammar; label
/// values are quoted with the three escapes; a family's TYPE comes at most once and before its samples, its samples are
/// together, a series appears once; a histogram's buckets are cumulative and its +Inf bucket equals its _count. Anything
/// else throws, naming the line.
/// </summary>
internal sealed class PrometheusText
{
    public Dictionary<string, string> Types { get; } = [];

    /// <summary>Every sample by its series: the name and labels sorted by name, as <c>name{a="1",b="2"}</c>.</summary>
    public Dictionary<string, double> Samples { get; } = [];

    public static PrometheusText Parse(string text)
    {
        var result = new PrometheusText();
        var helped = new HashSet<string>();
        var finished = new HashSet<string>();
        string? current = null;
        var lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            if (line.Length == 0) continue;
            try
            {
                if (line.StartsWith('#'))
                {
                    var parts = line.Split(' ', 4);
                    if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE")
                    {
                        var name = parts[2];
                        RequireName(name);
                        if (parts[1] == "HELP")
                        {
                            if (!helped.Add(name)) throw new FormatException($"second HELP for {name}");
                        }
                        else
                        {
                            var type = parts.Length == 4 ? parts[3] : throw new FormatException("TYPE without a type");
                            if (type is not ("counter" or "gauge" or "histogram" or "summary" or "untyped")) throw new FormatException($"unknown type {type}");
                            if (!result.Types.TryAdd(name, type)) throw new FormatException($"second TYPE for {name}");
                            if (finished.Contains(name) || current == name) throw new FormatException($"TYPE for {name} after its samples");
                        }
                    }
                    continue;
                }
                var (sampleName, labels, value) = ParseSample(line);
                var family = FamilyOf(sampleName, result.Types);
                if (family != current)
                {
                    if (current is not null) finished.Add(current);
                    if (finished.Contains(family)) throw new FormatException($"samples of {family} are not together");
                    current = family;
                }
                var key = Key(sampleName, labels);
                if (!result.Samples.TryAdd(key, value)) throw new FormatException($"series {key} twice");
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {lineNo}: {e.Message}: {line}");
            }
        }
        result.CheckHistograms();
        return result;
    }

    /// <summary>The value of one series, or null when absent.</summary>
    public double? Value(string name, params (string Name, string Value)[] labels) =>
        Samples.TryGetValue(Key(name, labels.ToDictionary(l => l.Name, l => l.Value)), out var v) ? v : null;

    /// <summary>The sum of every series of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Name, string Value)[] labels) =>
        Samples.Where(s => s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal))
            .Where(s => labels.All(l => s.Key.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal))).Sum(s => s.Value);

    private void CheckHistograms()
    {
        foreach (var (family, _) in Types.Where(t => t.Value == "histogram"))
        {
            var buckets = Samples.Where(s => s.Key.StartsWith(family + "_bucket{", StringComparison.Ordinal))
                .Select(s => (Series: s.Key, s.Value, Labels: ParseSample(s.Key + " 0").Labels)).ToList();
            foreach (var group in buckets.GroupBy(b => Key(family, b.Labels.Where(l => l.Key != "le").ToDictionary())))
            {
                var ordered = group.Select(b => (Le: ParseValue(b.Labels["le"]), b.Value)).OrderBy(b => b.Le).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    if (ordered[i].Value < ordered[i - 1].Value) throw new FormatException($"{group.Key}: buckets are not cumulative");
                }
                if (ordered.Count == 0 || !double.IsPositiveInfinity(ordered[^1].Le)) throw new FormatException($"{group.Key}: no +Inf bucket");
                var countKey = Key(family + "_count", group.First().Labels.Where(l => l.Key != "le").ToDictionary());
                if (!Samples.TryGetValue(countKey, out var count) || count != ordered[^1].Value) throw new FormatException($"{group.Key}: +Inf bucket is not _count");
            }
        }
    }

    private static string FamilyOf(string sample, Dictionary<string, string> types)
    {
        foreach (var suffix in new[] { "_bucket", "_count", "_sum", "_created" })
        {
            if (sample.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(sample[..^suffix.Length], out var t) && t is "histogram" or "summary")
            {
                return sample[..^suffix.Length];
            }
        }
        return sample;
    }

    private static string Key(string name, IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? name : name + "{" + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\"")) + "}";

    private static (string Name, Dictionary<string, string> Labels, double Value) ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ')) i++;
        var name = line[..i];
        RequireName(name);
        var labels = new Dictionary<string, string>();
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i < line.Length && line[i] == '}') { i++; break; }
                var start = i;
                while (i < line.Length && line[i] != '=') i++;
                var label = line[start..i];
                if (label.Length == 0 || !(char.IsAsciiLetter(label[0]) || label[0] == '_') || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                {
                    throw new FormatException($"bad label name \"{label}\"");
                }
                if (i + 1 >= line.Length || line[i + 1] != '"') throw new FormatException("label value not quoted");
                i += 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException("unterminated label value");
                    var c = line[i++];
                    if (c == '"') break;
                    if (c == '\\')
                    {
                        if (i >= line.Length) throw new FormatException("dangling escape");
                        value.Append(line[i++] switch { '\\' => '\\', '"' => '"', 'n' => '\n', var x => throw new FormatException($"bad escape \\{x}") });
                    }
                    else
                    {
                        value.Append(c);
                    }
                }
                if (!labels.TryAdd(label, value.ToString())) throw new FormatException($"label {label} twice");
                if (i < line.Length && line[i] == ',') i++;
                else if (i >= line.Length || line[i] != '}') throw new FormatException("expected , or }");
            }
        }
        if (i >= line.Length || line[i] != ' ') throw new FormatException("no value");
        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2) throw new FormatException("expected a value and an optional timestamp");
        if (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) throw new FormatException("bad timestamp");
        return (name, labels, ParseValue(rest[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"bad value \"{text}\""),
    };

    private static void RequireName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] is '_' or ':') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
        {
            throw new FormatException($"bad metric name \"{name}\"");
        }
    }
}
