using Ganss.Xss;
using Markdig;

namespace Berth.Ui;

/// <summary>
/// A repository's description: Markdown (Markdig) turned into HTML, then sanitized (HtmlSanitizer's allow-list: no
/// script, no event handler attributes, no javascript: URLs, no style that loads anything). Raw HTML in the Markdown is
/// allowed through Markdig and then sanitized like everything else, so a README keeps its &lt;details&gt; and loses its
/// &lt;script&gt;.
/// </summary>
internal static class Markdown
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    private static readonly HtmlSanitizer Sanitizer = Create();

    private static HtmlSanitizer Create()
    {
        var s = new HtmlSanitizer();
        s.AllowedSchemes.Clear();
        s.AllowedSchemes.Add("http");
        s.AllowedSchemes.Add("https");
        s.AllowedSchemes.Add("mailto");
        s.AllowedAttributes.Remove("style");
        s.AllowedTags.Remove("form");
        s.AllowedTags.Remove("input");
        s.AllowedTags.Remove("button");
        s.AllowedTags.Remove("textarea");
        s.AllowedTags.Remove("select");
        // Links from a README leave the registry without telling the target where they came from, and cannot reach back.
        s.PostProcessNode += (_, e) =>
        {
            if (e.Node is AngleSharp.Dom.IElement { TagName: "A" } a)
            {
                a.SetAttribute("rel", "nofollow noopener noreferrer");
            }
        };
        return s;
    }

    public static Markup Render(string? markdown)
    {
        if (string.IsNullOrWhiteSpace(markdown)) return new Markup("");
        // Clip pathological input: descriptions are small, and the sanitizer's cost grows with the tree.
        if (markdown.Length > 100_000) markdown = markdown[..100_000];
        var html = Markdig.Markdown.ToHtml(markdown, Pipeline);
        return new Markup(Sanitizer.Sanitize(html));
    }
}
