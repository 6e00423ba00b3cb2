//! Why a taxonomy file was refused.

use crate::ProvisionError;

/// Why [`Taxonomy::parse`](crate::Taxonomy::parse) refused a file. Each variant names the entry
/// (or category, or abbreviation) at fault and what is wrong with it, so whoever edits the YAML
/// can find the line; [`TaxonomyError::code`] gives a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaxonomyError {
    /// Not YAML, or not of the taxonomy's shape (a missing or unknown field, a list where a
    /// string belongs). The message gives the path and line.
    #[error("not a taxonomy file: {0}")]
    Yaml(String),
    /// An id that is not lowercase ASCII words joined by dots, or an abbreviation that is not
    /// ASCII letters and digits.
    #[error("{id:?}: bad id: {reason}")]
    BadId {
        /// The id as written.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two categories or two entries with the same id.
    #[error("{id:?}: id used twice")]
    DuplicateId {
        /// The repeated id.
        id: String,
    },
    /// An entry's parent is not one of the categories.
    #[error("{id:?}: parent {parent:?} is not a category")]
    UnknownParent {
        /// The entry.
        id: String,
        /// Its parent as written.
        parent: String,
    },
    /// An entry's id does not start with its parent and a dot (`pow.violence` under `pow`).
    #[error("{id:?}: id is not under its parent {parent:?} (expected \"{parent}.…\")")]
    IdNotUnderParent {
        /// The entry.
        id: String,
        /// Its parent.
        parent: String,
    },
    /// A label, name or list that must not be empty is.
    #[error("{id:?}: {field} is empty")]
    Empty {
        /// The entry, category or abbreviation.
        id: String,
        /// Which field: `label`, `provisions`, `abbreviation name`, …
        field: &'static str,
    },
    /// A citation that cannot be read as `INSTRUMENT ARTICLE`.
    #[error("{id:?}: citation {text:?}: {reason}")]
    BadProvision {
        /// The entry.
        id: String,
        /// The citation as written.
        text: String,
        /// What is wrong with it.
        reason: ProvisionError,
    },
    /// A citation whose instrument is not among the abbreviations.
    #[error(
        "{id:?}: citation {provision:?}: instrument {instrument:?} is not an abbreviation of this taxonomy"
    )]
    UnknownInstrument {
        /// The entry.
        id: String,
        /// The citation as written.
        provision: String,
        /// The unknown instrument.
        instrument: String,
    },
    /// An `unverified` citation that is not among the entry's provisions (and is not a remark
    /// on an instrument the entry cites; see [`Entry::unverified_remarks`](crate::Entry::unverified_remarks)).
    #[error("{id:?}: unverified citation {provision:?} is not among the entry's provisions")]
    UnverifiedNotCited {
        /// The entry.
        id: String,
        /// The unverified citation as written.
        provision: String,
    },
}

impl TaxonomyError {
    /// A stable machine code for the error's kind (`yaml`, `bad-id`, `duplicate-id`,
    /// `unknown-parent`, `id-not-under-parent`, `empty`, `bad-provision`, `unknown-instrument`,
    /// `unverified-not-cited`).
    pub fn code(&self) -> &'static str {
        match self {
            TaxonomyError::Yaml(_) => "yaml",
            TaxonomyError::BadId { .. } => "bad-id",
            TaxonomyError::DuplicateId { .. } => "duplicate-id",
            TaxonomyError::UnknownParent { .. } => "unknown-parent",
            TaxonomyError::IdNotUnderParent { .. } => "id-not-under-parent",
            TaxonomyError::Empty { .. } => "empty",
            TaxonomyError::BadProvision { .. } => "bad-provision",
            TaxonomyError::UnknownInstrument { .. } => "unknown-instrument",
            TaxonomyError::UnverifiedNotCited { .. } => "unverified-not-cited",
        }
    }
}
