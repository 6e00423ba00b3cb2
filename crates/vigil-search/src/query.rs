//! What a caller asks ([`Query`], [`Visibility`]), how the search box's text is read, and the
//! tantivy query built from both.
//!
//! The text's syntax is deliberately small, and nothing in it is an error:
//!
//! - words are ANDed: every word must match (in the title, body or names, in any form);
//! - `"a quoted phrase"` matches those words in that order (straight quotes, `“…”`, `„…“` or
//!   `«…»`, which Armenian and Russian use); an unclosed quote is read as a space;
//! - `word*` matches words that begin with `word` (3 characters at least: `ab*` is read as `ab`);
//! - anything else (operators, brackets, control characters, a lone `*`) separates words. `AND`,
//!   `OR` and `NOT` are words like any other.
//!
//! Only the first [`MAX_QUERY_BYTES`] of the text and its first [`MAX_PARTS`] words or phrases
//! are used, so a pasted page costs no more than a long query. A text with no word in it
//! matches every document the filters let through.

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query as TantivyQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;

use crate::analysis::{Analyzer, MAX_GRAM, MIN_GRAM, WordTerms, for_each_word, truncate};
use crate::doc::{DocKind, require_date};
use crate::error::Result;
use crate::schema::{Fields, TextGroup};

/// Bytes of query text read; the rest is ignored.
pub const MAX_QUERY_BYTES: usize = 4096;
/// Words and phrases of a query used; the rest are ignored.
pub const MAX_PARTS: usize = 32;
/// Words of a phrase used; a longer phrase is cut to its first words.
pub const MAX_PHRASE_WORDS: usize = 16;
/// Largest page of hits returned; a larger `limit` is cut to it.
pub const MAX_LIMIT: usize = 1000;
/// Hits beyond this rank are not returned (`offset` is cut to it), so deep paging stays cheap.
pub const MAX_OFFSET: usize = 10_000;

/// Which collections a search may return documents from. Pass the collections the viewer is a
/// member of: documents of any other collection are never returned nor counted in facets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "scope", content = "ids")]
pub enum Visibility {
    /// Every collection (administrators, background jobs).
    All,
    /// Only these collections. An empty list sees nothing.
    Only(Vec<i64>),
}

/// A search: the text typed, filters, who is asking, and which page of hits.
///
/// `Query::default()` sees nothing (`Visibility::Only(vec![])`, no restricted records): a caller
/// must say whose search it is. Within one filter the values are alternatives (any of these
/// tags); different filters must all hold (these tags *and* this status).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// What was typed in the search box; see the module docs for its syntax.
    pub text: String,
    /// Only these kinds of records; empty for every kind.
    pub kinds: Vec<DocKind>,
    /// Only records carrying one of these taxonomy ids; empty for no tag filter.
    pub tags: Vec<String>,
    /// Only records with one of these statuses; empty for any.
    pub statuses: Vec<String>,
    /// Only records from one of these platforms; empty for any.
    pub platforms: Vec<String>,
    /// Only records carrying one of these sensitivity labels; empty for any.
    pub sensitivity: Vec<String>,
    /// Only records whose date may fall on or after this ISO 8601 date (`2023`, `2023-09`,
    /// `2023-09-19`). A record dated only `2023` may fall in September 2023, so it matches a
    /// September filter; undated records never match a date filter.
    pub date_from: Option<String>,
    /// Only records whose date may fall on or before this ISO 8601 date; `2023-09` includes all
    /// of September.
    pub date_to: Option<String>,
    /// The collections the viewer may see.
    pub collections: Visibility,
    /// Whether restricted records (person records) may be returned: true only for investigators
    /// and admins, never for viewers.
    pub include_restricted: bool,
    /// How many hits to return (at most [`MAX_LIMIT`]); 0 returns only the total and facets.
    pub limit: usize,
    /// How many hits to skip, for paging (at most [`MAX_OFFSET`]).
    pub offset: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            text: String::new(),
            kinds: Vec::new(),
            tags: Vec::new(),
            statuses: Vec::new(),
            platforms: Vec::new(),
            sensitivity: Vec::new(),
            date_from: None,
            date_to: None,
            collections: Visibility::Only(Vec::new()),
            include_restricted: false,
            limit: 20,
            offset: 0,
        }
    }
}

impl Query {
    /// A first page of 20 hits for `text`, seen by a viewer of `collections`, no filters.
    pub fn new(text: impl Into<String>, collections: Visibility) -> Self {
        Query {
            text: text.into(),
            collections,
            ..Query::default()
        }
    }
}

/// One part of the text typed: a word (maybe a prefix) or a phrase, already analysed.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// A word; `prefix` when typed as `word*`; `optional` for a function word among others.
    Word {
        terms: WordTerms,
        prefix: bool,
        optional: bool,
    },
    /// Quoted words, in order.
    Phrase(Vec<WordTerms>),
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»')
}

/// Reads the search box's text into parts. Never fails: see the module docs.
pub(crate) fn parse(text: &str, analyzer: &mut Analyzer) -> Vec<Part> {
    let text = truncate(text, MAX_QUERY_BYTES);
    // Pair up quotes left to right; an unpaired last quote is a separator.
    let quotes: Vec<usize> = text
        .char_indices()
        .filter(|(_, c)| is_quote(*c))
        .map(|(i, _)| i)
        .collect();
    let mut parts = Vec::new();
    let mut cursor = 0;
    for pair in quotes.chunks_exact(2) {
        let (open, close) = (pair[0], pair[1]);
        words_into(&text[cursor..open], analyzer, &mut parts);
        let inner_start = open + char_len(text, open);
        let mut phrase = Vec::new();
        let inner = &text[inner_start..close];
        for_each_word(inner, |s, e| {
            if phrase.len() < MAX_PHRASE_WORDS {
                let mut terms = WordTerms::default();
                if analyzer.analyze(&inner[s..e], &mut terms) {
                    phrase.push(terms);
                }
            }
        });
        match phrase.len() {
            0 => {}
            _ => parts.push(Part::Phrase(phrase)),
        }
        cursor = close + char_len(text, close);
    }
    words_into(&text[cursor..], analyzer, &mut parts);
    parts.truncate(MAX_PARTS);
    let is_stop =
        |p: &Part| matches!(p, Part::Word { terms, prefix: false, .. } if terms.is_stop_word());
    if parts.iter().any(|p| !is_stop(p)) {
        for part in &mut parts {
            if let Part::Word {
                terms,
                prefix: false,
                optional,
            } = part
            {
                *optional = terms.is_stop_word();
            }
        }
    }
    parts
}

fn char_len(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(0, char::len_utf8)
}

fn words_into(text: &str, analyzer: &mut Analyzer, parts: &mut Vec<Part>) {
    for_each_word(text, |s, e| {
        if parts.len() >= MAX_PARTS {
            return;
        }
        let mut terms = WordTerms::default();
        if analyzer.analyze(&text[s..e], &mut terms) {
            let starred = text[e..].starts_with('*');
            let prefix = starred
                && terms
                    .text
                    .first()
                    .is_some_and(|t| t.chars().count() >= MIN_GRAM);
            parts.push(Part::Word {
                terms,
                prefix,
                optional: false,
            });
        }
    });
}

/// Weights of the ways a word can match, relative to a match of its text term in the body.
const EXACT_BOOST: f32 = 0.5;
const STEM_BOOST: f32 = 0.6;
const PREFIX_SCORE: f32 = 0.2;

fn term_query(field: tantivy::schema::Field, text: &str, boost: f32) -> Box<dyn TantivyQuery> {
    let q = TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    );
    if boost == 1.0 {
        Box::new(q)
    } else {
        Box::new(BoostQuery::new(Box::new(q), boost))
    }
}

fn any_of(clauses: Vec<Box<dyn TantivyQuery>>) -> Box<dyn TantivyQuery> {
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

/// A word, matched in every form: its text terms, its exact spelling, its stems (looked up in
/// the stem form and, since stems equal to a word are only indexed as text, in the text form),
/// and, as a low constant-score fallback, as the beginning of a longer word.
fn word_query(fields: &Fields, terms: &WordTerms) -> Box<dyn TantivyQuery> {
    let mut clauses = Vec::new();
    for group in groups(fields) {
        let mut in_text: Vec<&str> = Vec::new();
        if let Some(text) = terms.text.first() {
            clauses.push(term_query(group.text, text, group.boost));
            in_text.push(text);
        }
        if let Some(exact) = &terms.exact {
            clauses.push(term_query(group.exact, exact, group.boost * EXACT_BOOST));
        }
        for stem in &terms.stems {
            clauses.push(term_query(group.stem, stem, group.boost * STEM_BOOST));
            if !in_text.contains(&stem.as_str()) {
                clauses.push(term_query(group.text, stem, group.boost * STEM_BOOST));
                in_text.push(stem);
            }
        }
    }
    if let Some(key) = terms.implicit_prefix_key() {
        clauses.push(prefix_term(fields, key));
    }
    any_of(clauses)
}

fn prefix_term(fields: &Fields, key: &str) -> Box<dyn TantivyQuery> {
    let q = TermQuery::new(
        Term::from_field_text(fields.prefix, key),
        IndexRecordOption::Basic,
    );
    Box::new(ConstScoreQuery::new(Box::new(q), PREFIX_SCORE))
}

/// `word*`: one lookup of the indexed edge n-gram; beyond [`MAX_GRAM`] characters a regular
/// expression on the text terms (a literal prefix, cheap on tantivy's term dictionary).
fn prefix_query(fields: &Fields, terms: &WordTerms) -> Box<dyn TantivyQuery> {
    let Some(text) = terms.text.first() else {
        return Box::new(tantivy::query::EmptyQuery);
    };
    let mut clauses = vec![];
    for group in groups(fields) {
        clauses.push(term_query(group.text, text, group.boost));
    }
    if text.chars().count() <= MAX_GRAM {
        clauses.push(prefix_term(fields, text));
        return any_of(clauses);
    }
    let mut pattern = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_alphanumeric() {
            pattern.push(c);
        } else {
            pattern.push_str(&format!("\\x{{{:x}}}", c as u32));
        }
    }
    pattern.push_str(".*");
    for group in groups(fields) {
        match RegexQuery::from_pattern(&pattern, group.text) {
            Ok(q) => clauses.push(Box::new(ConstScoreQuery::new(
                Box::new(q),
                group.boost * PREFIX_SCORE,
            ))),
            // Cannot happen for a literal prefix; if it did, the 12-character n-gram still works.
            Err(_) => {
                if let Some(key) = terms.prefix_key() {
                    clauses.push(prefix_term(fields, key));
                }
            }
        }
    }
    any_of(clauses)
}

/// Quoted words in order, in the text form (where Latin words are folded, so a phrase typed
/// without diacritics still matches); one quoted word is that word exactly: no stem, no prefix.
fn phrase_query(fields: &Fields, words: &[WordTerms]) -> Box<dyn TantivyQuery> {
    let mut clauses = Vec::new();
    for group in groups(fields) {
        let terms: Vec<Term> = words
            .iter()
            .filter_map(|w| w.text.first())
            .map(|t| Term::from_field_text(group.text, t))
            .collect();
        if terms.len() == 1 {
            clauses.push(Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    terms[0].clone(),
                    IndexRecordOption::WithFreqs,
                )),
                group.boost,
            )) as Box<dyn TantivyQuery>);
        } else if terms.len() > 1 {
            clauses.push(Box::new(BoostQuery::new(
                Box::new(PhraseQuery::new(terms)),
                group.boost,
            )));
        }
        if let [only] = words
            && let Some(exact) = &only.exact
        {
            clauses.push(term_query(group.exact, exact, group.boost * EXACT_BOOST));
        }
    }
    any_of(clauses)
}

fn groups(fields: &Fields) -> [TextGroup; 3] {
    [fields.title, fields.body, fields.names]
}

/// The text part of a search, or `None` when the text had no word (every document matches).
pub(crate) fn text_query(fields: &Fields, parts: &[Part]) -> Option<Box<dyn TantivyQuery>> {
    if parts.is_empty() {
        return None;
    }
    let clauses = parts
        .iter()
        .map(|part| match part {
            Part::Word {
                terms,
                prefix: false,
                optional,
            } => {
                let occur = if *optional {
                    Occur::Should
                } else {
                    Occur::Must
                };
                (occur, word_query(fields, terms))
            }
            Part::Word {
                terms,
                prefix: true,
                ..
            } => (Occur::Must, prefix_query(fields, terms)),
            Part::Phrase(words) => (Occur::Must, phrase_query(fields, words)),
        })
        .collect();
    Some(Box::new(BooleanQuery::new(clauses)))
}

fn string_set(field: tantivy::schema::Field, values: &[String]) -> Box<dyn TantivyQuery> {
    Box::new(TermSetQuery::new(
        values.iter().map(|v| Term::from_field_text(field, v)),
    ))
}

/// The filters of a search (who may see what, then the chosen filters), each a required clause
/// that does not change scores.
pub(crate) fn filter_queries(fields: &Fields, q: &Query) -> Result<Vec<Box<dyn TantivyQuery>>> {
    let mut filters: Vec<Box<dyn TantivyQuery>> = Vec::new();
    if let Visibility::Only(ids) = &q.collections {
        filters.push(Box::new(TermSetQuery::new(
            ids.iter()
                .map(|id| Term::from_field_i64(fields.collection, *id)),
        )));
    }
    if !q.include_restricted {
        filters.push(Box::new(TermQuery::new(
            Term::from_field_bool(fields.restricted, false),
            IndexRecordOption::Basic,
        )));
    }
    if !q.kinds.is_empty() {
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_owned()).collect();
        filters.push(string_set(fields.kind, &kinds));
    }
    for (field, values) in [
        (fields.tag, &q.tags),
        (fields.status, &q.statuses),
        (fields.platform, &q.platforms),
        (fields.sensitivity, &q.sensitivity),
    ] {
        if !values.is_empty() {
            filters.push(string_set(field, values));
        }
    }
    // A record's span [first, last] overlaps the filter's [from, to].
    if let Some(from) = &q.date_from {
        let from = require_date(from, None)?.first;
        filters.push(Box::new(tantivy::query::RangeQuery::new(
            Bound::Included(Term::from_field_i64(fields.date_last, from)),
            Bound::Unbounded,
        )));
    }
    if let Some(to) = &q.date_to {
        let to = require_date(to, None)?.last;
        filters.push(Box::new(tantivy::query::RangeQuery::new(
            Bound::Unbounded,
            Bound::Included(Term::from_field_i64(fields.date_first, to)),
        )));
    }
    Ok(filters)
}

/// The whole search: the text (scored) and every filter (not scored).
pub(crate) fn build(fields: &Fields, q: &Query, parts: &[Part]) -> Result<Box<dyn TantivyQuery>> {
    let filters = filter_queries(fields, q)?;
    let text = text_query(fields, parts).unwrap_or_else(|| Box::new(AllQuery));
    let mut clauses = vec![(Occur::Must, text)];
    for filter in filters {
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(filter, 0.0)) as Box<dyn TantivyQuery>,
        ));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// Does a word of a document match this part of a query? Used to place snippets; mirrors the
/// terms [`text_query`] looks up (text, exact, stems, prefixes). Optional function words never
/// do: a snippet around the first `the` says nothing.
pub(crate) fn part_matches(part: &Part, word: &WordTerms) -> bool {
    let text_hit = |q: &WordTerms| q.text.first().is_some_and(|t| word.text.contains(t));
    match part {
        Part::Word { optional: true, .. } => false,
        Part::Word {
            terms,
            prefix: false,
            ..
        } => {
            text_hit(terms)
                || terms
                    .stems
                    .iter()
                    .any(|s| word.stems.contains(s) || word.text.contains(s))
                || terms
                    .implicit_prefix_key()
                    .is_some_and(|k| word.text.iter().any(|t| t.starts_with(k)))
        }
        Part::Word {
            terms,
            prefix: true,
            ..
        } => terms
            .text
            .first()
            .is_some_and(|k| word.text.iter().any(|t| t.starts_with(k.as_str()))),
        Part::Phrase(words) => words.iter().any(text_hit),
    }
}

/// A query's parts as text, for tests: `word`, `prefix*`, `(optional)`, `"a phrase"`.
#[cfg(test)]
pub(crate) fn describe(parts: &[Part]) -> Vec<String> {
    parts
        .iter()
        .map(|p| match p {
            Part::Word {
                terms,
                prefix: true,
                ..
            } => format!("{}*", terms.lower),
            Part::Word {
                terms,
                optional: true,
                ..
            } => format!("({})", terms.lower),
            Part::Word { terms, .. } => terms.lower.clone(),
            Part::Phrase(words) => {
                format!(
                    "\"{}\"",
                    words
                        .iter()
                        .map(|w| w.lower.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<String> {
        describe(&parse(text, &mut Analyzer::default()))
    }

    #[test]
    fn words_phrases_and_prefixes() {
        assert_eq!(parsed("пленный Ханкенди"), ["пленный", "ханкенди"]);
        assert_eq!(
            parsed("\"prisoner of war\" video"),
            ["\"prisoner of war\"", "video"]
        );
        assert_eq!(
            parsed("«գերի զինվոր» пленн*"),
            ["\"գերի զինվոր\"", "пленн*"]
        );
        assert_eq!(parsed("ab* abc*"), ["ab", "abc*"]);
    }

    #[test]
    fn function_words_are_optional_among_others() {
        assert_eq!(
            parsed("prisoners of the war"),
            ["prisoners", "(of)", "(the)", "war"]
        );
        assert_eq!(parsed("видео с пленным"), ["видео", "(с)", "пленным"]);
        assert_eq!(parsed("the \"of war\""), ["(the)", "\"of war\""]);
        // Alone, they are what was asked for.
        assert_eq!(parsed("the of"), ["the", "of"]);
    }

    #[test]
    fn malformed_syntax_degrades_to_words() {
        assert_eq!(parsed("\"unbalanced quote"), ["unbalanced", "quote"]);
        assert_eq!(parsed("x \"b c\" \"d"), ["x", "\"b c\"", "d"]);
        assert!(parsed("*").is_empty());
        assert!(parsed("\"\"").is_empty());
        assert!(parsed("(((]]]**::~~^^").is_empty());
        assert_eq!(parsed("AND OR NOT"), ["(and)", "(or)", "not"]);
        assert_eq!(
            parsed("x\u{0000}b\u{0007}c\u{001b}[31m"),
            ["x", "b", "c", "31m"]
        );
        assert_eq!(
            parse(&"word ".repeat(10_000), &mut Analyzer::default()).len(),
            MAX_PARTS
        );
        let long_phrase = format!("\"{}\"", "w ".repeat(100));
        match parse(&long_phrase, &mut Analyzer::default()).as_slice() {
            [Part::Phrase(words)] => assert_eq!(words.len(), MAX_PHRASE_WORDS),
            other => panic!("{other:?}"),
        }
        // Cut in the middle of a multi-byte character without panicking.
        let armenian = "ա".repeat(MAX_QUERY_BYTES);
        assert!(
            parse(&armenian, &mut Analyzer::default()).is_empty(),
            "one word longer than a word may be"
        );
    }
}
