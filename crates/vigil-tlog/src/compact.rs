//! A compact range: the running right edge of a Merkle tree, so a root can be computed at any
//! size while leaves stream past in order, in O(log n) memory.
//!
//! Used to re-check a whole log (every checkpoint ever signed) in one pass over its leaves.

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// The roots of the perfect subtrees that make up a tree of `size` leaves, largest first.
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    size: u64,
    /// Roots of perfect subtrees, left to right; their sizes are the set bits of `size`.
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        CompactRange::default()
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash (already hashed with [`crate::leaf_hash`]).
    pub fn append(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut merged = self.size;
        // Each trailing one bit of the old size is a peak of equal height to merge with.
        while merged & 1 == 1 {
            let Some(left) = self.peaks.pop() else { break };
            node = node_hash(&left, &node);
            merged >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The RFC 9162 root of the tree appended so far.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return EMPTY_ROOT;
        };
        peaks.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::proof::root_from_leaves;

    #[test]
    fn matches_the_reference_root_at_every_size() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut range = CompactRange::new();
        assert_eq!(range.root(), EMPTY_ROOT);
        for (n, leaf) in leaves.iter().enumerate() {
            range.append(*leaf);
            assert_eq!(range.size(), n as u64 + 1);
            assert_eq!(
                range.root(),
                root_from_leaves(&leaves[..=n]),
                "size {}",
                n + 1
            );
        }
    }
}
