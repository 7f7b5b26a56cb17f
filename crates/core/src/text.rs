//! Text a person reads: bounded to a size the channel accepts.

/// `s` cut to at most `max` characters, an ellipsis marking the cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_to_the_limit_with_a_mark() {
        assert_eq!(bounded("short", 10), "short");
        let cut = bounded(&"é".repeat(200), 99);
        assert_eq!(cut.chars().count(), 99);
        assert!(cut.ends_with('…'));
    }
}
