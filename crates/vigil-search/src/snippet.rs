//! Snippets: a short plain-text extract of a hit around its first matching word, with the
//! matching words' byte ranges so that the caller can mark them after escaping the text.

use std::ops::Range;

use crate::analysis::{Analyzer, WordTerms, for_each_word, truncate};
use crate::query::{Part, part_matches};

/// Bytes of a document read to place a snippet.
const SCAN_BYTES: usize = 64 * 1024;
/// Length of a snippet, in bytes.
const SNIPPET_BYTES: usize = 240;
/// Context kept before the first match, in bytes.
const CONTEXT_BEFORE: usize = 60;
const ELLIPSIS: &str = "…";

/// A snippet and where the matching words are in it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

/// Byte ranges of the words of `text` that match a part of the query.
fn matches(text: &str, parts: &[Part], analyzer: &mut Analyzer) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut terms = WordTerms::default();
    for_each_word(text, |s, e| {
        if analyzer.analyze(&text[s..e], &mut terms)
            && parts.iter().any(|p| part_matches(p, &terms))
        {
            out.push(s..e);
        }
    });
    out
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A window of `text` of about [`SNIPPET_BYTES`] that starts a little before `anchor`.
fn window(text: &str, anchor: usize, hits: &[Range<usize>]) -> Snippet {
    let mut start = floor_boundary(text, anchor.saturating_sub(CONTEXT_BEFORE));
    if start > 0
        && let Some(space) = text[start..anchor].find(char::is_whitespace)
    {
        start += space;
    }
    while start < anchor && text[start..].starts_with(char::is_whitespace) {
        start += text[start..].chars().next().map_or(1, char::len_utf8);
    }
    let mut end = floor_boundary(text, start + SNIPPET_BYTES);
    if end < text.len()
        && let Some(space) = text[anchor.min(end)..end].rfind(char::is_whitespace)
    {
        end = anchor.min(end) + space;
    }
    let prefix = if start > 0 { ELLIPSIS } else { "" };
    let mut snippet = String::with_capacity(end - start + 2 * ELLIPSIS.len());
    snippet.push_str(prefix);
    // Line breaks and other control characters become spaces (same length: offsets hold).
    snippet.extend(
        text[start..end]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c }),
    );
    let highlights = hits
        .iter()
        .filter(|h| h.start >= start && h.end <= end)
        .map(|h| h.start - start + prefix.len()..h.end - start + prefix.len())
        .collect();
    if end < text.len() {
        snippet.push_str(ELLIPSIS);
    }
    Snippet {
        text: snippet,
        highlights,
    }
}

/// The snippet of a hit: around the first match in the body; else the names if they match;
/// else the beginning of the body (or the names when there is no body).
pub(crate) fn snippet(
    body: &str,
    names: &[String],
    parts: &[Part],
    analyzer: &mut Analyzer,
) -> Snippet {
    let body = truncate(body, SCAN_BYTES);
    let hits = if parts.is_empty() {
        Vec::new()
    } else {
        matches(body, parts, analyzer)
    };
    if let Some(first) = hits.first() {
        return window(body, first.start, &hits);
    }
    if !names.is_empty() {
        let joined = truncate(&names.join(", "), SNIPPET_BYTES).to_owned();
        let name_hits = if parts.is_empty() {
            Vec::new()
        } else {
            matches(&joined, parts, analyzer)
        };
        if !name_hits.is_empty() || body.trim().is_empty() {
            return Snippet {
                text: joined,
                highlights: name_hits,
            };
        }
    }
    window(body, 0, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;

    fn snip(body: &str, names: &[&str], query: &str) -> Snippet {
        let mut analyzer = Analyzer::default();
        let parts = parse(query, &mut analyzer);
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        snippet(body, &names, &parts, &mut analyzer)
    }

    fn marked(s: &Snippet) -> Vec<&str> {
        s.highlights.iter().map(|r| &s.text[r.clone()]).collect()
    }

    #[test]
    fn around_the_first_match_with_highlights() {
        let body = format!(
            "{} Видео с пленного солдата.\nДругой пленный. {}",
            "слово ".repeat(40),
            "конец ".repeat(60)
        );
        let s = snip(&body, &[], "пленный");
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…'),
            "{}",
            s.text
        );
        assert_eq!(marked(&s), ["пленного", "пленный"]);
        assert!(!s.text.contains('\n'));
        assert!(s.text.len() <= SNIPPET_BYTES + 2 * ELLIPSIS.len());
    }

    #[test]
    fn names_when_only_they_match_else_the_start() {
        let s = snip(
            "Notes about the exchange.",
            &["Արամ Պետրոսյան", "Aram Petrosyan"],
            "арам петросян արամ",
        );
        assert_eq!(marked(&s), ["Արամ"]);
        let s = snip("Short body.", &[], "absent");
        assert_eq!(
            s,
            Snippet {
                text: "Short body.".into(),
                highlights: vec![]
            }
        );
        assert_eq!(snip("", &[], "").text, "");
    }
}
