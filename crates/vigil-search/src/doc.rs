//! What callers hand the index: one [`SearchDoc`] per record, and the dates it may carry.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};

/// The kind of record a document stands for. With its id it names the record: upserting the
/// same `(kind, id)` replaces its documents, so records of different kinds may share ids (as
/// catalog row ids do).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// An incident: title, description, tags, status, date.
    Incident,
    /// A captured item: captions, platform text, uploader names. The default, the most common.
    #[default]
    Item,
    /// A person record: names in every script. Usually [`SearchDoc::restricted`].
    Person,
    /// A comment on an incident or item.
    Comment,
}

impl DocKind {
    /// Every kind, in the order facets list them.
    pub const ALL: [DocKind; 4] = [
        DocKind::Incident,
        DocKind::Item,
        DocKind::Person,
        DocKind::Comment,
    ];

    /// The name stored in the index and shown in the `kind` facet.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Incident => "incident",
            DocKind::Item => "item",
            DocKind::Person => "person",
            DocKind::Comment => "comment",
        }
    }

    /// The kind named by [`DocKind::as_str`]; `None` for anything else.
    pub fn parse(name: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for DocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record to index, built by the caller from the catalog: this crate never reads the store,
/// so it stays fast to build and its tests need no database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchDoc {
    /// What kind of record this is.
    pub kind: DocKind,
    /// The record's id within its kind (a catalog id, a SHA-256 digest…).
    pub id: String,
    /// The collection whose members may see this document; searches are limited by it
    /// ([`crate::Visibility`]). A record held in several collections is one document per
    /// collection, each with only what that collection recorded, so nothing written in one
    /// collection is found, shown or counted for members of another.
    pub collection_id: i64,
    /// Shown as the hit's title and weighted above the body.
    pub title: String,
    /// Descriptions, comments, captions, platform text: searched, and where snippets come from.
    pub body: String,
    /// Person names in any script (with their transliterations), uploader and account names:
    /// weighted like the title.
    pub names: Vec<String>,
    /// Taxonomy ids such as `pow.violence`: filtered and faceted exactly, not searched as text.
    pub tags: Vec<String>,
    /// Workflow or person status (`verified`, `pow`…): filtered and faceted exactly.
    pub status: Option<String>,
    /// Where the material was published (`telegram`, `x`…): filtered and faceted exactly.
    pub platform: Option<String>,
    /// Sensitivity labels (`graphic-violence`, `identifiable-prisoner`…): filtered and faceted.
    pub sensitivity: Vec<String>,
    /// ISO 8601 date as precise as known (`2023`, `2023-09`, `2023-09-19`; a time after the
    /// day is ignored). A partial date stands for its whole month or year when filtering.
    pub date: Option<String>,
    /// Only callers that may see restricted records find it (person records: investigators and
    /// admins of the collection, never viewers); see [`crate::Query::include_restricted`].
    pub restricted: bool,
}

/// A date as the first and last day it may stand for, each as `YYYYMMDD` (sortable integers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateSpan {
    pub first: i64,
    pub last: i64,
}

/// Reads an ISO 8601 date as precise as known. `None` when it is not one.
pub(crate) fn parse_date(text: &str) -> Option<DateSpan> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = digits(0..4)?;
    if year == 0 {
        return None;
    }
    match bytes.len() {
        4 => {
            return Some(DateSpan {
                first: year * 10000 + 101,
                last: year * 10000 + 1231,
            });
        }
        7 if bytes[4] == b'-' => {
            let month = digits(5..7)?;
            let last_day = days_in_month(year, month)?;
            let base = year * 10000 + month * 100;
            return Some(DateSpan {
                first: base + 1,
                last: base + last_day,
            });
        }
        _ => {}
    }
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    if bytes.len() > 10 && !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let (month, day) = (digits(5..7)?, digits(8..10)?);
    if day < 1 || day > days_in_month(year, month)? {
        return None;
    }
    let value = year * 10000 + month * 100 + day;
    Some(DateSpan {
        first: value,
        last: value,
    })
}

fn days_in_month(year: i64, month: i64) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    })
}

/// [`parse_date`], or the error naming the document (or filter) the date came from.
pub(crate) fn require_date(text: &str, doc: Option<String>) -> Result<DateSpan> {
    parse_date(text).ok_or_else(|| SearchError::InvalidDate {
        value: text.to_owned(),
        doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_precise_as_known() {
        assert_eq!(
            parse_date("2023"),
            Some(DateSpan {
                first: 20230101,
                last: 20231231
            })
        );
        assert_eq!(
            parse_date("2023-09"),
            Some(DateSpan {
                first: 20230901,
                last: 20230930
            })
        );
        assert_eq!(
            parse_date("2024-02"),
            Some(DateSpan {
                first: 20240201,
                last: 20240229
            })
        );
        assert_eq!(
            parse_date("2023-09-19"),
            Some(DateSpan {
                first: 20230919,
                last: 20230919
            })
        );
        assert_eq!(
            parse_date("2023-09-19T10:00:00Z"),
            Some(DateSpan {
                first: 20230919,
                last: 20230919
            })
        );
        for bad in [
            "",
            "23",
            "2023-9",
            "2023-13",
            "2023-02-29",
            "2023-09-31",
            "0000",
            "２０２３",
            "2023-09-19X",
            "abcd-ef",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in DocKind::ALL {
            assert_eq!(DocKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DocKind::parse("nope"), None);
    }
}
