//! `drawdown.svg`: money committed plus disbursed over time against the budget line, with
//! bilingual labels. Plain SVG written here (a few dozen elements), rather than a plotting
//! crate: pure, and small.

use std::fmt::Write;

/// One period on the chart.
#[derive(Debug, Clone)]
pub struct Point {
    /// The tick label, e.g. `26 Jan` or `Jan 2026`.
    pub tick: String,
    /// Committed plus disbursed at the period's end, in cents.
    pub spent_cents: i64,
    /// The budget's total at the period's end, in cents.
    pub budget_cents: i64,
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 100.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 96.0;
const BOTTOM: f64 = 96.0;
const FONT: &str =
    "'Noto Sans CJK TC','Noto Sans TC','PingFang TC','Microsoft JhengHei',sans-serif";

/// Escapes text for an SVG text node or attribute.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A round step for about five gridlines up to `max` cents: 1, 2 or 5 times a power of ten
/// dollars.
fn step(max_cents: i64) -> i64 {
    let target = (max_cents / 5).max(100);
    let mut base = 100i64; // HK$1
    loop {
        for m in [1, 2, 5] {
            let s = base.saturating_mul(m);
            if s >= target {
                return s;
            }
        }
        base = base.saturating_mul(10);
    }
}

/// An axis label: `HK$500M`, `HK$2.5M`, `HK$40K`, `HK$0`.
pub fn short_money(cents: i64) -> String {
    let dollars = cents as f64 / 100.0;
    let (value, suffix) = if dollars >= 1_000_000.0 {
        (dollars / 1_000_000.0, "M")
    } else if dollars >= 1_000.0 {
        (dollars / 1_000.0, "K")
    } else {
        (dollars, "")
    };
    let text = format!("{value:.1}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("HK${text}{suffix}")
}

/// The chart, as an SVG document. `period_en`/`period_zh` name the unit (`week`/`週`).
pub fn render(points: &[Point], period_en: &str, period_zh: &str, as_of: &str) -> String {
    let max = points
        .iter()
        .map(|p| p.spent_cents.max(p.budget_cents))
        .max()
        .unwrap_or(0)
        .max(100);
    let step = step(max);
    let top_value = ((max + step - 1) / step) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |cents: i64| TOP + plot_h * (1.0 - cents as f64 / top_value as f64);

    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{font}" role="img" aria-labelledby="title">"##,
        font = xml(FONT)
    );
    let _ = write!(
        s,
        r##"<title id="title">Budget drawdown by {pe} · 預算動用（按{pz}）</title><rect width="100%" height="100%" fill="#ffffff"/>"##,
        pe = xml(period_en),
        pz = xml(period_zh)
    );
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="36" font-size="22" font-weight="600" fill="#1a1a1a">DTSPP budget drawdown · 數碼轉型支援先導計劃 預算動用</text><text x="{LEFT}" y="62" font-size="14" fill="#555555">Committed + disbursed against the budget, by {pe} · 已承擔及已發放金額對比預算（按{pz}）· as of {asof}</text>"##,
        pe = xml(period_en),
        pz = xml(period_zh),
        asof = xml(as_of)
    );
    // Gridlines and the money axis.
    let mut v = 0;
    while v <= top_value {
        let gy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{x2}" y2="{gy:.1}" stroke="#e3e3e3" stroke-width="1"/><text x="{tx}" y="{ty:.1}" font-size="12" fill="#555555" text-anchor="end">{label}</text>"##,
            x2 = WIDTH - RIGHT,
            tx = LEFT - 8.0,
            ty = gy + 4.0,
            label = xml(&short_money(v))
        );
        v += step;
    }
    let base = y(0);
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{base:.1}" x2="{x2}" y2="{base:.1}" stroke="#888888" stroke-width="1"/>"##,
        x2 = WIDTH - RIGHT
    );
    // Tick labels: at most about 12, evenly spread.
    let every = points.len().div_ceil(12).max(1);
    for (i, p) in points.iter().enumerate() {
        // The last period is labelled too, unless that would crowd the label before it.
        let last_fits = i + 1 == points.len() && i % every > every / 2;
        if i % every == 0 || last_fits {
            let _ = write!(
                s,
                r##"<text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="#555555" text-anchor="middle">{label}</text>"##,
                tx = x(i),
                ty = base + 20.0,
                label = xml(&p.tick)
            );
        }
    }
    // The budget line (a step where a rules change moved it) and the spending series.
    let budget: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.budget_cents)))
        .collect();
    let spent: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.spent_cents)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline id="budget-line" points="{}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="8 5"/>"##,
        budget.join(" ")
    );
    if let Some(last) = points.last() {
        let area = format!(
            "{:.1},{base:.1} {} {:.1},{base:.1}",
            x(0),
            spent.join(" "),
            x(points.len() - 1)
        );
        let _ = write!(
            s,
            r##"<polygon points="{area}" fill="#1f77b4" fill-opacity="0.12" stroke="none"/><polyline id="series-committed-disbursed" points="{}" fill="none" stroke="#1f77b4" stroke-width="2.5"/>"##,
            spent.join(" ")
        );
        let _ = write!(
            s,
            r##"<text x="{tx:.1}" y="{ty:.1}" font-size="12" fill="#1f77b4" text-anchor="end">{label}</text>"##,
            tx = x(points.len() - 1),
            ty = y(last.spent_cents) - 8.0,
            label = xml(&short_money(last.spent_cents))
        );
    }
    for (i, p) in points.iter().enumerate() {
        if points.len() <= 60 {
            let _ = write!(
                s,
                r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="3" fill="#1f77b4"><title>{tick}: {m}</title></circle>"##,
                cx = x(i),
                cy = y(p.spent_cents),
                tick = xml(&p.tick),
                m = xml(&short_money(p.spent_cents))
            );
        }
    }
    // The legend.
    let ly = HEIGHT - 28.0;
    let _ = write!(
        s,
        r##"<g font-size="13" fill="#1a1a1a"><line x1="{LEFT}" y1="{ly}" x2="{l2}" y2="{ly}" stroke="#1f77b4" stroke-width="2.5"/><text x="{t1}" y="{ty}">Committed + disbursed 已承擔及已發放</text><line x1="{l3}" y1="{ly}" x2="{l4}" y2="{ly}" stroke="#c0392b" stroke-width="2" stroke-dasharray="8 5"/><text x="{t2}" y="{ty}">Budget 預算</text></g>"##,
        l2 = LEFT + 28.0,
        t1 = LEFT + 36.0,
        ty = ly + 4.0,
        l3 = LEFT + 330.0,
        l4 = LEFT + 358.0,
        t2 = LEFT + 366.0
    );
    if points.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{cx}" y="{cy}" font-size="16" fill="#888888" text-anchor="middle">No money has moved yet · 尚未有資金變動</text>"##,
            cx = WIDTH / 2.0,
            cy = HEIGHT / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<Point> {
        (0..20)
            .map(|i| Point {
                tick: format!("W{i} <&>"),
                spent_cents: i * 1_000_000_000,
                budget_cents: 50_000_000_000,
            })
            .collect()
    }

    #[test]
    fn it_is_well_formed_and_draws_both_series() {
        let svg = render(&points(), "week", "週", "2026-11-28");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let by_id = |id: &str| {
            doc.descendants()
                .find(|n| n.attribute("id") == Some(id))
                .unwrap_or_else(|| panic!("no #{id}"))
        };
        let series = by_id("series-committed-disbursed")
            .attribute("points")
            .unwrap();
        assert_eq!(series.split(' ').count(), 20);
        let budget = by_id("budget-line").attribute("points").unwrap();
        assert_eq!(budget.split(' ').count(), 20);
        let text: String = doc
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        for label in ["Budget 預算", "已承擔及已發放", "W0 <&>", "HK$500M"] {
            assert!(text.contains(label), "{label} in {text}");
        }
    }

    #[test]
    fn the_series_rises_as_money_is_spent() {
        let svg = render(&points(), "week", "週", "2026-11-28");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let ys: Vec<f64> = doc
            .descendants()
            .find(|n| n.attribute("id") == Some("series-committed-disbursed"))
            .unwrap()
            .attribute("points")
            .unwrap()
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(
            ys.windows(2).all(|w| w[1] < w[0]),
            "higher money is higher up: {ys:?}"
        );
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = render(&[], "month", "月", "2026-11-28");
        roxmltree::Document::parse(&svg).unwrap();
        assert!(svg.contains("No money has moved yet"));
    }

    #[test]
    fn money_labels_are_short() {
        assert_eq!(short_money(50_000_000_000), "HK$500M");
        assert_eq!(short_money(250_000_000), "HK$2.5M");
        assert_eq!(short_money(4_000_000), "HK$40K");
        assert_eq!(short_money(0), "HK$0");
    }
}
