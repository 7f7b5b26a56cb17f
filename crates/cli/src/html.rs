//! A run's report as text and as an HTML page with a timeline chart (inline SVG, no scripts).

use std::fmt::Write as _;

use lifeboat_core::report::Report;

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("{s:.1} s"))
}

fn offset(from: time::OffsetDateTime, to: time::OffsetDateTime) -> f64 {
    (to - from).as_seconds_f64()
}

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn error_line(r: &Report) -> Option<String> {
    r.error.as_ref().map(|e| {
        format!(
            "{}: {}",
            e.error,
            e.cause.as_deref().unwrap_or("(no cause given)")
        )
    })
}

/// The report as text.
pub fn text(r: &Report) -> String {
    let mut out = format!(
        "{} run {} ({}): {:?} — {} -> {}\n",
        r.kind, r.run_id, r.app, r.outcome, r.source_region, r.target_region
    );
    let _ = writeln!(out, "  trigger   {}", r.trigger);
    let _ = writeln!(
        out,
        "  RTO       {} (trigger -> traffic verified)",
        secs(r.rto_seconds)
    );
    let _ = writeln!(
        out,
        "  RPO       {} (lag at promotion)",
        secs(r.rpo_estimate_seconds)
    );
    let _ = writeln!(out, "  active    {} (epoch {})", r.active_region, r.epoch);
    let t0 = r.timeline.triggered_at;
    let _ = writeln!(out, "  steps (from the trigger):");
    for s in &r.timeline.steps {
        let start = offset(t0, s.started_at);
        let took = s.ended_at.map_or_else(
            || "not finished".to_string(),
            |e| format!("{:.1} s", offset(s.started_at, e)),
        );
        let _ = writeln!(out, "    +{start:7.1} s  {:<10} {took}", s.name);
    }
    if let Some(e) = error_line(r) {
        let _ = writeln!(out, "  error     {e}");
    }
    if !r.open_steps.is_empty() {
        let _ = writeln!(out, "  open      {}", r.open_steps.join(", "));
    }
    let _ = writeln!(
        out,
        "  lock      {}",
        if r.lock_released {
            "released"
        } else {
            "kept (a person decides)"
        }
    );
    out
}

/// The timeline chart: one bar per step from the trigger, the RTO marked.
pub fn chart(r: &Report) -> String {
    let t0 = r.timeline.triggered_at;
    let spans: Vec<(&str, f64, Option<f64>)> = r
        .timeline
        .steps
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                offset(t0, s.started_at),
                s.ended_at.map(|e| offset(t0, e)),
            )
        })
        .collect();
    let total = spans
        .iter()
        .map(|(_, s, e)| e.unwrap_or(*s))
        .chain([r.rto_seconds.unwrap_or(0.0), 1.0])
        .fold(0.0_f64, f64::max);
    let (width, left, row) = (760.0, 110.0, 28.0);
    let scale = |t: f64| left + t / total * (width - left);
    let height = 20.0 + spans.len() as f64 * row + 40.0;
    let mut svg = format!(
        r#"<svg width="{}" height="{height}" font-family="sans-serif" font-size="12" role="img" aria-label="run timeline">"#,
        width + 160.0
    );
    for k in 0..5 {
        let x = scale(total * f64::from(k) / 4.0);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{:.1}" y="{}">{:.0} s</text>"##,
            height - 18.0,
            x - 10.0,
            height - 4.0,
            total * f64::from(k) / 4.0
        );
    }
    for (i, (name, s, e)) in spans.iter().enumerate() {
        let y = 10.0 + i as f64 * row;
        let x = scale(*s);
        let w = ((e.unwrap_or(total) - s) / total * (width - left)).max(2.0);
        let (color, label) = match e {
            Some(e) => ("#2e7d32", format!("{:.1} s", e - s)),
            None => ("#c62828", "not finished".to_string()),
        };
        let _ = write!(
            svg,
            r#"<text x="4" y="{}">{}</text><rect x="{x:.1}" y="{y}" width="{w:.1}" height="20" fill="{color}" rx="3"/><text x="{:.1}" y="{}">{label}</text>"#,
            y + 16.0,
            escape(name),
            x + w + 4.0,
            y + 16.0
        );
    }
    if let Some(rto) = r.rto_seconds {
        let x = scale(rto);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{}" stroke="#1565c0" stroke-dasharray="4 3"/><text x="{:.1}" y="{}" fill="#1565c0">RTO {rto:.1} s: traffic verified</text>"##,
            height - 18.0,
            x + 4.0,
            height - 22.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The report as a self-contained HTML page.
pub fn page(r: &Report) -> String {
    let row = |k: &str, v: &str| format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    let rows = [
        row("Run", &format!("{} ({})", r.run_id, r.kind)),
        row("Outcome", &format!("{:?}", r.outcome)),
        row(
            "From → into",
            &format!("{} → {}", r.source_region, r.target_region),
        ),
        row("Trigger", &r.trigger),
        row("RTO (trigger → traffic verified)", &secs(r.rto_seconds)),
        row(
            "RPO estimate (lag at promotion)",
            &secs(r.rpo_estimate_seconds),
        ),
        row(
            "Capacity at shift",
            &r.capacity_at_shift
                .as_ref()
                .map_or_else(|| "-".to_string(), |c| c.line()),
        ),
        row(
            "Cache",
            &r.cache
                .as_ref()
                .map_or_else(|| "-".to_string(), |c| c.line()),
        ),
        row(
            "Active region / epoch",
            &format!("{} / {}", r.active_region, r.epoch),
        ),
        row("Error", &error_line(r).unwrap_or_else(|| "-".into())),
        row(
            "Open steps",
            &if r.open_steps.is_empty() {
                "-".to_string()
            } else {
                r.open_steps.join(", ")
            },
        ),
        row("Execution", &r.execution_arn),
    ]
    .join("\n");
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lifeboat run {run}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}
td,th{{border-bottom:1px solid #eee;padding:4px 8px;vertical-align:top;text-align:left}}</style></head>
<body><h1>lifeboat run {run}</h1>
<table>
{rows}
</table>
<h2>Timeline</h2>{chart}
</body></html>
"#,
        run = escape(&r.run_id),
        chart = chart(r),
    )
}
