//! Why an index operation failed, with a stable code for logs and API bodies.

/// What went wrong. A user's query text never causes one: malformed syntax is read as words.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A date (a document's, or a filter's bound) is not an ISO 8601 date as precise as known:
    /// `2023`, `2023-09`, `2023-09-19` (a time after the day is allowed and ignored). Refused
    /// rather than ignored so that a bad filter never silently widens a search.
    #[error("not an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD): {value:?}{}", doc_context(.doc))]
    InvalidDate {
        /// The text that was given.
        value: String,
        /// `kind:id` of the document that carried it; `None` for a query's filter.
        doc: Option<String>,
    },
    /// The directory holds an index built with another schema or another version of this
    /// crate's text analysis. The index is derived data: delete the directory and re-index.
    #[error(
        "the search index at {path} was built by another version ({found}); delete it and re-index"
    )]
    IncompatibleIndex {
        /// The index directory.
        path: String,
        /// What the directory says it is.
        found: String,
    },
    /// Another writer (in this process or another) holds the index's lock; one writer at a time.
    #[error("the search index is being written by another writer")]
    Locked,
    /// The index directory could not be created or read.
    #[error("search index directory {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// tantivy reported an error (I/O, a damaged segment, …).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

fn doc_context(doc: &Option<String>) -> String {
    doc.as_ref()
        .map(|d| format!(" (document {d})"))
        .unwrap_or_default()
}

impl SearchError {
    /// A stable machine-readable code, for logs and API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            SearchError::InvalidDate { .. } => "invalid-date",
            SearchError::IncompatibleIndex { .. } => "incompatible-index",
            SearchError::Locked => "locked",
            SearchError::Io { .. } => "io",
            SearchError::Index(_) => "index",
        }
    }

    /// Whether the caller's input caused it (a bad date), as opposed to the index or the disk.
    pub fn is_client_error(&self) -> bool {
        matches!(self, SearchError::InvalidDate { .. })
    }
}

/// `Result` with a [`SearchError`].
pub type Result<T, E = SearchError> = std::result::Result<T, E>;
