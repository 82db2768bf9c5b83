//! Guides' Markdown to HTML that is safe to put in a page: CommonMark with tables and
//! strikethrough (pulldown-cmark), then sanitised (ammonia): no scripts, styles, event handlers,
//! frames or `javascript:` links, and every link opens without handing over the page
//! (`rel="noopener noreferrer"`). Pure.

use pulldown_cmark::{Options, Parser, html};

/// The sanitised HTML of `markdown`.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(&raw)
        .to_string()
}

/// The plain text of `markdown` (its words, for the search document).
pub fn to_text(markdown: &str) -> String {
    use pulldown_cmark::Event;
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => {
                out.push_str(&t);
                out.push(' ');
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html = to_html(
            "# Choosing a POS\n\nPay **half**, and see the [guide](https://www.cyberport.hk/).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Choosing a POS</h1>"), "{html}");
        assert!(html.contains("<strong>half</strong>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://www.cyberport.hk/" rel="noopener noreferrer">guide</a>"#
            ),
            "{html}"
        );
        assert!(
            html.contains("<table>") && html.contains("<td>2</td>"),
            "{html}"
        );
    }

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = to_html(
            "Hello <script>alert(1)</script><img src=x onerror=\"alert(2)\"> \
             [click](javascript:alert(3)) <iframe src=\"https://evil.example\"></iframe>\
             <a href=\"https://ok.example\" onclick=\"steal()\">ok</a>",
        );
        for bad in [
            "<script",
            "alert(1)",
            "onerror",
            "javascript:",
            "<iframe",
            "onclick",
        ] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("Hello"), "{html}");
        assert!(html.contains(r#"href="https://ok.example""#), "{html}");
    }

    #[test]
    fn chinese_text_passes_through() {
        assert_eq!(
            to_html("選擇**收銀**系統"),
            "<p>選擇<strong>收銀</strong>系統</p>\n"
        );
        assert_eq!(
            to_text("選擇**收銀**系統")
                .split_whitespace()
                .collect::<String>(),
            "選擇收銀系統"
        );
    }
}
