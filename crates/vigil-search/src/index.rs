//! [`SearchIndex`]: documents in, ranked and permission-filtered hits out.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::schema::Value;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument,
    TantivyError, Term,
};

use crate::analysis::Analyzer;
use crate::doc::{DocKind, SearchDoc, require_date};
use crate::error::{Result, SearchError};
use crate::facets::{FacetCollector, FacetCounts};
use crate::query::{self, MAX_LIMIT, MAX_OFFSET, Query, Visibility};
use crate::schema::{self, ANALYSIS_VERSION, DATE_LAST, Fields};
use crate::snippet;

/// How the index writes: tantivy's indexing threads and their memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// Indexing threads (at least 1). More threads index a large batch faster and make more
    /// segments, which background merges then combine.
    pub threads: usize,
    /// Memory for buffered documents, all threads together; a thread's share is flushed to a new
    /// segment when full. At least 15 MB a thread (tantivy's minimum).
    pub memory_bytes: usize,
}

impl Default for WriterOptions {
    /// Two threads, 128 MiB: a full re-index of a million records in minutes on a small machine
    /// without crowding a web server sharing it.
    fn default() -> Self {
        WriterOptions {
            threads: 2,
            memory_bytes: 128 << 20,
        }
    }
}

const MIN_THREAD_MEMORY: usize = 15_000_000;

/// One hit: what to show in a result list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The record's kind.
    pub kind: DocKind,
    /// The record's id within its kind.
    pub id: String,
    /// Relevance (BM25 over every form, weighted); 0 when the text had no word and hits are
    /// ordered by date instead.
    pub score: f32,
    /// The record's title, as given.
    pub title: String,
    /// Plain text around the first match (body, else names): **not escaped** — escape it before
    /// putting it in a page.
    pub snippet: String,
    /// Byte ranges of matching words within `snippet`, to mark after escaping.
    pub highlights: Vec<std::ops::Range<usize>>,
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// How many documents match (all pages), among those the viewer may see.
    pub total: usize,
    /// The requested page of hits, best first (newest first when the text had no word).
    pub hits: Vec<Hit>,
    /// Facet name (`kind`, `tag`, `status`, `platform`, `sensitivity`; always all five) →
    /// value → how many matching documents carry it, among those the viewer may see.
    pub facets: FacetCounts,
}

/// A full-text index of Vigil's records, on disk or in memory.
///
/// Writes (`upsert`, `delete`) are buffered and become visible to `search` at `commit`; an
/// index dropped without `commit` loses them (the last commit stays intact, even after a
/// crash). Any number of threads may search at once (`&self`); one writer at a time (`&mut
/// self`, and a lock in the directory against other processes, taken at the first write).
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Option<IndexWriter<TantivyDocument>>,
    options: WriterOptions,
    fields: Fields,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .field("docs", &self.num_docs())
            .finish()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if needed, with the
    /// default [`WriterOptions`].
    ///
    /// An index built by another version of this crate's schema or analysis is refused
    /// ([`SearchError::IncompatibleIndex`]): its terms would not match the queries'.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, WriterOptions::default())
    }

    /// [`SearchIndex::open`] with chosen writer options.
    pub fn open_with(dir: &Path, options: WriterOptions) -> Result<Self> {
        let io = |source| SearchError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let directory = MmapDirectory::open(dir).map_err(TantivyError::from)?;
        let (schema, fields) = schema::build();
        let index = Index::builder()
            .schema(schema)
            .tokenizers(schema::tokenizers())
            .open_or_create(directory);
        let index = match index {
            Ok(index) => index,
            Err(TantivyError::SchemaError(_)) => {
                return Err(SearchError::IncompatibleIndex {
                    path: dir.display().to_string(),
                    found: "another schema".into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(found) = index.load_metas()?.payload
            && found != ANALYSIS_VERSION
        {
            return Err(SearchError::IncompatibleIndex {
                path: dir.display().to_string(),
                found,
            });
        }
        Self::with_index(index, fields, options, Some(dir.to_path_buf()))
    }

    /// A new empty index in memory, for tests and short-lived uses; one indexing thread.
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema::build();
        let index = Index::builder()
            .schema(schema)
            .tokenizers(schema::tokenizers())
            .create_in_ram()?;
        Self::with_index(
            index,
            fields,
            WriterOptions {
                threads: 1,
                memory_bytes: MIN_THREAD_MEMORY,
            },
            None,
        )
    }

    fn with_index(
        index: Index,
        fields: Fields,
        options: WriterOptions,
        path: Option<PathBuf>,
    ) -> Result<Self> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: None,
            options,
            fields,
            path,
        })
    }

    fn writer(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        if self.writer.is_none() {
            let threads = self.options.threads.max(1);
            let memory = self.options.memory_bytes.max(threads * MIN_THREAD_MEMORY);
            let writer = self
                .index
                .writer_with_num_threads(threads, memory)
                .map_err(|e| match e {
                    TantivyError::LockFailure(..) => SearchError::Locked,
                    e => e.into(),
                })?;
            self.writer = Some(writer);
        }
        // Just set when it was absent.
        self.writer.as_mut().ok_or(SearchError::Locked)
    }

    fn key(kind: DocKind, id: &str) -> String {
        format!("{}:{id}", kind.as_str())
    }

    fn to_document(&self, doc: &SearchDoc) -> Result<TantivyDocument> {
        let f = &self.fields;
        let key = Self::key(doc.kind, &doc.id);
        let mut d = TantivyDocument::default();
        d.add_text(f.key, &key);
        d.add_text(f.kind, doc.kind.as_str());
        d.add_text(f.id, &doc.id);
        d.add_i64(f.collection, doc.collection_id);
        d.add_bool(f.restricted, doc.restricted);
        for (group, text) in [(f.title, &doc.title), (f.body, &doc.body)] {
            if !text.is_empty() {
                d.add_text(group.text, text);
                d.add_text(group.exact, text);
                d.add_text(group.stem, text);
                d.add_text(f.prefix, text);
            }
        }
        for name in &doc.names {
            d.add_text(f.names.text, name);
            d.add_text(f.names.exact, name);
            d.add_text(f.names.stem, name);
            d.add_text(f.prefix, name);
        }
        for tag in &doc.tags {
            d.add_text(f.tag, tag);
        }
        for label in &doc.sensitivity {
            d.add_text(f.sensitivity, label);
        }
        if let Some(status) = &doc.status {
            d.add_text(f.status, status);
        }
        if let Some(platform) = &doc.platform {
            d.add_text(f.platform, platform);
        }
        if let Some(date) = &doc.date {
            let span = require_date(date, Some(key))?;
            d.add_i64(f.date_first, span.first);
            d.add_i64(f.date_last, span.last);
        }
        Ok(d)
    }

    /// Adds documents, replacing every earlier document of each record `(kind, id)` the batch
    /// names. A record may be held in several collections (an item captured in two): it is then
    /// one document per collection, each holding only what that collection recorded, and all of
    /// them come in one batch; within a batch the last document of a `(kind, id, collection)`
    /// wins. All or nothing: a document with an invalid date refuses the whole batch before any
    /// of it is written. Visible to searches after [`SearchIndex::commit`].
    pub fn upsert(&mut self, docs: impl IntoIterator<Item = SearchDoc>) -> Result<()> {
        let mut latest: Vec<SearchDoc> = Vec::new();
        let mut position = std::collections::HashMap::new();
        for doc in docs {
            match position.entry((doc.kind, doc.id.clone(), doc.collection_id)) {
                std::collections::hash_map::Entry::Occupied(at) => latest[*at.get()] = doc,
                std::collections::hash_map::Entry::Vacant(at) => {
                    at.insert(latest.len());
                    latest.push(doc);
                }
            }
        }
        let mut records = std::collections::HashSet::new();
        let mut prepared = Vec::with_capacity(latest.len());
        for doc in &latest {
            records.insert(Self::key(doc.kind, &doc.id));
            prepared.push(self.to_document(doc)?);
        }
        let key_field = self.fields.key;
        let writer = self.writer()?;
        for record in records {
            writer.delete_term(Term::from_field_text(key_field, &record));
        }
        for doc in prepared {
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Removes every document of the record `(kind, id)`, if there is one. Visible after [`SearchIndex::commit`].
    pub fn delete(&mut self, kind: DocKind, id: &str) -> Result<()> {
        let key = Term::from_field_text(self.fields.key, &Self::key(kind, id));
        self.writer()?.delete_term(key);
        Ok(())
    }

    /// Makes every write since the last commit durable and visible to searches.
    pub fn commit(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(ANALYSIS_VERSION);
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Merges every segment into one and waits for it: after a bulk re-index, fewer segments
    /// make searches faster. Commits first.
    pub fn merge_segments(&mut self) -> Result<()> {
        self.commit()?;
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            let writer = self.writer()?;
            writer.merge(&ids).wait()?;
        }
        // Let background merges and garbage collection finish, then take a fresh writer.
        if let Some(writer) = self.writer.take() {
            writer.wait_merging_threads()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Documents searchable now (as of the last commit).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Searches. Only documents of the viewer's collections (and restricted ones only when the
    /// query allows) are counted, faceted or returned. The text's syntax never causes an error;
    /// an invalid date filter does ([`SearchError::InvalidDate`]).
    pub fn search(&self, q: &Query) -> Result<SearchResults> {
        if matches!(&q.collections, Visibility::Only(ids) if ids.is_empty()) {
            // Validate the dates all the same, so a bad filter is reported whoever asks.
            query::filter_queries(&self.fields, q)?;
            return Ok(SearchResults {
                facets: FacetCollector::empty(),
                ..SearchResults::default()
            });
        }
        let mut analyzer = Analyzer::default();
        let parts = query::parse(&q.text, &mut analyzer);
        let tantivy_query = query::build(&self.fields, q, &parts)?;
        let searcher = self.reader.searcher();
        let limit = q.limit.min(MAX_LIMIT);
        let offset = q.offset.min(MAX_OFFSET);
        let top = TopDocs::with_limit(limit.max(1)).and_offset(offset);
        let (mut ranked, total, facets): (Vec<(f32, DocAddress)>, usize, FacetCounts) =
            if parts.is_empty() {
                let by_date = top.order_by_fast_field::<i64>(DATE_LAST, Order::Desc);
                let (docs, total, facets) =
                    searcher.search(&*tantivy_query, &(by_date, Count, FacetCollector))?;
                (
                    docs.into_iter().map(|(_, addr)| (0.0, addr)).collect(),
                    total,
                    facets,
                )
            } else {
                searcher.search(
                    &*tantivy_query,
                    &(top.order_by_score(), Count, FacetCollector),
                )?
            };
        ranked.truncate(limit);
        let mut hits = Vec::with_capacity(ranked.len());
        for (score, address) in ranked {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(self.hit(&doc, score, &parts, &mut analyzer));
        }
        Ok(SearchResults {
            total,
            hits,
            facets,
        })
    }

    fn hit(
        &self,
        doc: &TantivyDocument,
        score: f32,
        parts: &[query::Part],
        analyzer: &mut Analyzer,
    ) -> Hit {
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let names: Vec<String> = doc
            .get_all(f.names.text)
            .filter_map(|v| v.as_str())
            .map(str::to_owned)
            .collect();
        let body = text(f.body.text);
        let snippet = snippet::snippet(&body, &names, parts, analyzer);
        Hit {
            // Every document is written with a kind this crate names.
            kind: DocKind::parse(&text(f.kind)).unwrap_or_default(),
            id: text(f.id),
            score,
            title: text(f.title.text),
            snippet: snippet.text,
            highlights: snippet.highlights,
        }
    }
}
