//! Facet counts: how many of a search's matches carry each kind, tag, status, platform and
//! sensitivity label. Counted over every match the filters let through (never over documents
//! the viewer may not see), from the fast fields, by term ordinal within each segment.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::FACETS;

/// Facet name → value → number of matching documents.
pub type FacetCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// Counts facet values of matching documents.
pub(crate) struct FacetCollector;

impl FacetCollector {
    /// Every facet, with no value: the facets of a search that matched nothing.
    pub(crate) fn empty() -> FacetCounts {
        FACETS
            .iter()
            .map(|(_, name)| ((*name).to_owned(), BTreeMap::new()))
            .collect()
    }
}

/// Per segment: each facet's column and a count per term ordinal.
pub(crate) struct FacetSegmentCollector {
    columns: Vec<Option<(StrColumn, Vec<u64>)>>,
}

impl Collector for FacetCollector {
    type Fruit = FacetCounts;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let mut columns = Vec::with_capacity(FACETS.len());
        for (field, _) in FACETS {
            columns.push(segment.fast_fields().str(field)?.map(|column| {
                let counts = vec![0; column.num_terms()];
                (column, counts)
            }));
        }
        Ok(FacetSegmentCollector { columns })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<FacetCounts>) -> tantivy::Result<FacetCounts> {
        let mut merged = FacetCollector::empty();
        for segment in segments {
            for (facet, values) in segment {
                let target = merged.entry(facet).or_default();
                for (value, count) in values {
                    *target.entry(value).or_default() += count;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = FacetCounts;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in self.columns.iter_mut().flatten() {
            for ord in column.term_ords(doc) {
                if let Some(count) = counts.get_mut(ord as usize) {
                    *count += 1;
                }
            }
        }
    }

    fn harvest(self) -> FacetCounts {
        let mut out = FacetCounts::new();
        for ((_, name), column) in FACETS.iter().zip(self.columns) {
            let values = out.entry((*name).to_owned()).or_default();
            let Some((column, counts)) = column else {
                continue;
            };
            let mut text = String::new();
            for (ord, count) in counts.into_iter().enumerate() {
                if count == 0 {
                    continue;
                }
                // A read error of the dictionary drops that value rather than the whole search.
                if column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                    values.insert(text.clone(), count);
                }
            }
        }
        out
    }
}
