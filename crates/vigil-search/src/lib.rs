//! Full-text search over Vigil's records in Armenian, Azerbaijani, Russian and English, with
//! filters, facets and permission filtering, on [tantivy](https://docs.rs/tantivy) 0.27.
//!
//! - [`SearchIndex`]: the index, on disk ([`SearchIndex::open`]) or in memory
//!   ([`SearchIndex::in_memory`]). Callers hand it [`SearchDoc`]s ([`SearchIndex::upsert`]
//!   replaces by `(kind, id)`, [`SearchIndex::delete`]), make them visible with
//!   [`SearchIndex::commit`], and ask it [`Query`]s ([`SearchIndex::search`]), which answer
//!   [`SearchResults`]: a total, a page of [`Hit`]s with plain-text snippets, and facet counts.
//! - [`Query`]: the search box's text (words ANDed, function words such as `the` or `и`
//!   optional among other words, `"phrases"`, `prefix*`; malformed syntax is read as words, never
//!   an error), filters (kind, tag, status, platform, sensitivity, dates)
//!   and whose search it is: [`Visibility`] (the viewer's collections) and whether restricted
//!   records (persons) may be seen. A document the viewer may not see is never returned nor
//!   counted, in totals or in facets.
//! - [`SearchError`]: typed errors with stable codes ([`SearchError::code`]).
//!
//! This crate depends on neither `vigil-store` nor `vigil-core`: it indexes what it is given,
//! so it builds fast and its tests need no database. `vigil-core` (or the web server) builds
//! the documents from the catalog and keeps the index current; the index is derived data that
//! can always be rebuilt.
//!
//! How each language is handled (the analysis module has the details): every word is
//! lowercased (Armenian, Cyrillic and Latin alike; `İ`, `ё` and `և` normalised), Latin words
//! are also folded to ASCII with Azerbaijani's letters mapped as people type them without an
//! Azerbaijani keyboard (`Əliyev` matches `Aliyev` and `Eliyev`; `ı` and `I` match `i`), words
//! are stemmed by Snowball (Russian for Cyrillic, Armenian for Armenian, English and Turkish for
//! Latin, Turkish standing in for Azerbaijani), and every word of 4 characters or more also
//! finds longer words it begins through edge n-grams (`գերի` finds `գերիներ`).
//!
//! ```
//! use vigil_search::{DocKind, Query, SearchDoc, SearchIndex, Visibility};
//!
//! let mut index = SearchIndex::in_memory()?;
//! index.upsert([
//!     SearchDoc {
//!         kind: DocKind::Incident,
//!         id: "17".into(),
//!         collection_id: 1,
//!         title: "Видео с пленным".into(),
//!         body: "Գերիների տեսանյութ. Footage of prisoners of war.".into(),
//!         tags: vec!["pow.violence".into()],
//!         date: Some("2023-09".into()),
//!         ..SearchDoc::default()
//!     },
//!     SearchDoc {
//!         kind: DocKind::Person,
//!         id: "4".into(),
//!         collection_id: 1,
//!         names: vec!["Ramil Əliyev".into(), "Рамиль Алиев".into()],
//!         restricted: true,
//!         ..SearchDoc::default()
//!     },
//! ])?;
//! index.commit()?;
//!
//! // A viewer of collection 1: the Armenian singular finds the plural.
//! let results = index.search(&Query::new("գերի", Visibility::Only(vec![1])))?;
//! assert_eq!(results.total, 1);
//! assert_eq!(results.hits[0].id, "17");
//! assert_eq!(results.facets["tag"]["pow.violence"], 1);
//!
//! // Person records only for those allowed to see them.
//! let viewer = Query::new("Aliyev", Visibility::Only(vec![1]));
//! assert_eq!(index.search(&viewer)?.total, 0);
//! let investigator = Query { include_restricted: true, ..viewer };
//! assert_eq!(index.search(&investigator)?.hits[0].kind, DocKind::Person);
//! # Ok::<(), vigil_search::SearchError>(())
//! ```

#![deny(missing_docs)]

mod analysis;
mod doc;
mod error;
mod facets;
mod index;
mod query;
mod schema;
mod snippet;
#[cfg(test)]
mod tests;

pub use doc::{DocKind, SearchDoc};
pub use error::{Result, SearchError};
pub use facets::FacetCounts;
pub use index::{Hit, SearchIndex, SearchResults, WriterOptions};
pub use query::{
    MAX_LIMIT, MAX_OFFSET, MAX_PARTS, MAX_PHRASE_WORDS, MAX_QUERY_BYTES, Query, Visibility,
};
