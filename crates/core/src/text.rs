//! Text a person reads: bounded to a size the channel accepts, and inert (no character that
//! moves the cursor, colours a terminal, reorders or hides text).

/// `s` cut to at most `max` characters, an ellipsis marking the cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Whether `c` must be shown escaped: C0 and C1 controls (ANSI escapes start with one), bidi
/// embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, marks), zero-width and
/// other invisible formatting characters.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Untrusted text made inert and bounded: every control or invisible formatting character shown
/// as `\u{…}` (a line break too: one fact stays one line), then cut to `max` characters. For text
/// from events, health bodies or the plan, wherever a person reads it or a log keeps it.
pub fn inert(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() > max.saturating_mul(4) {
            break; // enough to cut from: a 1 MiB field is never copied whole
        }
        if invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    bounded(&out, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_shown_escaped() {
        assert_eq!(
            inert("ok\u{1b}[31mred\u{202e}txt\u{200b}\n\u{85}", 100),
            "ok\\u{1b}[31mred\\u{202e}txt\\u{200b}\\u{a}\\u{85}"
        );
        assert_eq!(inert("plain ünïcode", 100), "plain ünïcode");
        let huge = "x".repeat(1 << 20);
        assert_eq!(inert(&huge, 300).chars().count(), 300);
    }

    #[test]
    fn long_text_is_cut_to_the_limit_with_a_mark() {
        assert_eq!(bounded("short", 10), "short");
        let cut = bounded(&"é".repeat(200), 99);
        assert_eq!(cut.chars().count(), 99);
        assert!(cut.ends_with('…'));
    }
}
