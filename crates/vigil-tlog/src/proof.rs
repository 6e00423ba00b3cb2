//! Merkle tree roots, inclusion and consistency proofs (RFC 9162 §2.1), and the subtree proofs of
//! draft-ietf-plants-merkle-tree-certs §4.
//!
//! Generation never walks leaves: it first works out which *full* subtrees it needs (every proof
//! element is the hash of a run of full subtrees), asks a [`NodeSource`] for all of them in one
//! batch, and folds them. A tiled store answers such a batch from a handful of tiles, so a proof
//! costs a few lookups whatever the tree size.
//!
//! Verification follows the RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms step by step, and refuses
//! the degenerate inputs the upstream test vectors probe (index out of range, consistency from
//! size 0, a non-empty proof between equal sizes, and so on).

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// A full (perfect) subtree of the log: the `2^level` leaves starting at `index << level`.
///
/// These are the only nodes a log ever stores; every other hash is computed from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves: 0 is a leaf hash, 8 the root of 256 leaves.
    pub level: u8,
    /// Position among the nodes of this level, counting from the left.
    pub index: u64,
}

impl NodeId {
    /// Names the full subtree at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// One past the last leaf covered, or `None` when that does not fit in a `u64` (such a
    /// node cannot exist in any log).
    pub fn end(&self) -> Option<u64> {
        self.index
            .checked_add(1)?
            .checked_mul(1u64.checked_shl(self.level.into())?)
    }
}

/// Why a [`NodeSource`] could not supply a hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The node or tile is not held by the source (never written, pruned, beyond the tree).
    #[error("{0} is not available")]
    Missing(String),
    /// The stored bytes are not what they should be (wrong length, say).
    #[error("{0} is corrupt")]
    Corrupt(String),
    /// The backing store failed; the cause is kept for the caller's report.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Where proof generation reads the hashes of full subtrees.
///
/// Contract: `nodes` returns one hash per requested id, in request order, each the Merkle tree
/// hash of that full subtree. Requests only ever name subtrees that lie wholly inside the tree
/// size the proof is for. Batched so that a tile-backed source can read each tile once.
pub trait NodeSource {
    /// Returns the hash of each full subtree in `ids`, in the same order.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, SourceError>;
}

/// A plain list of leaf hashes is a (slow, O(subtree size) per node) source: handy for tests
/// and small in-memory trees.
impl NodeSource for [Hash] {
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, SourceError> {
        ids.iter()
            .map(|id| {
                let end = id.end().filter(|&e| e <= self.len() as u64);
                let end = end.ok_or_else(|| SourceError::Missing(format!("{id:?}")))?;
                let start = end - (1u64 << id.level);
                Ok(root_from_leaves(&self[start as usize..end as usize]))
            })
            .collect()
    }
}

/// Why a proof could not be generated or did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree (or subtree).
    #[error("leaf index {index} is outside the tree of size {size}")]
    IndexOutOfRange {
        /// The index asked about.
        index: u64,
        /// The tree or subtree size.
        size: u64,
    },
    /// A consistency proof from the empty tree was requested or offered; RFC 9162 defines none.
    #[error("consistency proofs start from a non-empty tree")]
    OldSizeZero,
    /// The older tree is larger than the newer one.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// The first (supposedly older) size.
        old: u64,
        /// The second size.
        new: u64,
    },
    /// `[start, end)` is not a subtree in the sense of draft-ietf-plants-merkle-tree-certs §4.1.
    #[error("[{start}, {end}) is not a valid subtree")]
    InvalidSubtree {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
    /// The subtree or older tree extends past the tree it is proven against.
    #[error("range ending at {end} is beyond the tree of size {size}")]
    BeyondTree {
        /// One past the last leaf of the range.
        end: u64,
        /// The tree size.
        size: u64,
    },
    /// Two equal trees need no proof; a non-empty one is malformed.
    #[error("proof must be empty when both sizes are equal")]
    NonEmptyProof,
    /// A consistency proof between different sizes cannot be empty.
    #[error("proof is empty")]
    EmptyProof,
    /// The proof has more hashes than the tree shape allows.
    #[error("proof has too many hashes")]
    ProofTooLong,
    /// The proof has fewer hashes than the tree shape requires.
    #[error("proof has too few hashes")]
    ProofTooShort,
    /// The proof leads to a different root: the leaf is not in this tree, or something was altered.
    #[error("computed root does not match the expected root")]
    RootMismatch,
    /// A consistency proof does not reproduce the older root.
    #[error("computed old root does not match the expected old root")]
    OldRootMismatch,
    /// Proof generation could not read the hashes it needs.
    #[error("reading tree nodes: {0}")]
    Source(#[from] SourceError),
}

/// Whether `[start, end)` is a subtree: non-empty, and `start` a multiple of the smallest power
/// of two at least `end - start` (draft-ietf-plants-merkle-tree-certs §4.1).
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    start < end
        && (end - start)
            .checked_next_power_of_two()
            .is_some_and(|p| start.is_multiple_of(p))
}

/// The largest power of two strictly below `n` (`n >= 2`), the RFC 9162 split point `k`.
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Appends the full subtrees whose right fold is `MTH(D[start:end])`, largest first.
///
/// Every range a proof uses starts at a multiple of a power of two at least its length, so
/// its binary decomposition is a run of aligned full subtrees.
pub(crate) fn range_nodes(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut at = start;
    let mut left = end - start;
    while left > 0 {
        let level = 63 - left.leading_zeros();
        out.push(NodeId::new(level as u8, at >> level));
        at += 1 << level;
        left -= 1 << level;
    }
}

/// `MTH` of a run of full subtrees, largest first: `H(a, H(b, H(c, d)))`.
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |acc, h| node_hash(h, &acc))
}

/// The ranges whose `MTH`s form `SUBTREE_PROOF(start, end, D_n)`, in proof order.
///
/// With `end == start + 1` this is RFC 9162 `PATH(start, D_n)`; with `start == 0` it is
/// `PROOF(end, D_n)`. Callers have checked that `[start, end)` is a valid subtree within `n`.
fn subtree_proof_ranges(start: u64, end: u64, n: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi, mut s) = (0u64, n, start);
    let mut complete = true;
    let mut out = Vec::with_capacity(66);
    loop {
        if s == lo && end == hi {
            if !complete {
                out.push((lo, hi));
            }
            break;
        }
        let mid = lo + split(hi - lo);
        if end <= mid {
            out.push((mid, hi));
            hi = mid;
        } else if s >= mid {
            out.push((lo, mid));
            lo = mid;
        } else {
            // A valid subtree can only straddle the split when it starts at `lo`; the rest of
            // it continues as an RFC 9162 SUBPROOF with b = false.
            out.push((lo, mid));
            lo = mid;
            s = mid;
            complete = false;
        }
    }
    out.reverse();
    out
}

/// Fetches every node the ranges need in one batch and folds each range to its hash.
fn materialize<S: NodeSource + ?Sized>(
    ranges: &[(u64, u64)],
    src: &S,
) -> Result<Vec<Hash>, ProofError> {
    let mut ids = Vec::with_capacity(ranges.len() * 2);
    let mut bounds = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges {
        let from = ids.len();
        range_nodes(a, b, &mut ids);
        bounds.push(from..ids.len());
    }
    let hashes = src.nodes(&ids)?;
    if hashes.len() != ids.len() {
        return Err(SourceError::Corrupt(format!(
            "node batch ({} hashes for {} ids)",
            hashes.len(),
            ids.len()
        ))
        .into());
    }
    Ok(bounds.into_iter().map(|r| fold_right(&hashes[r])).collect())
}

/// The root of the tree of `size` leaves, from its full subtrees (at most 64 of them).
pub fn tree_root<S: NodeSource + ?Sized>(size: u64, src: &S) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    Ok(materialize(&[(0, size)], src)?[0])
}

/// The root of a tree given all its leaf hashes, in one pass with a small stack.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    // stack[i] holds a full subtree; heights strictly decrease towards the top.
    let mut stack: Vec<(u32, Hash)> = Vec::with_capacity(64);
    for leaf in leaves {
        let mut cur = (0u32, *leaf);
        while let Some(&(h, left)) = stack.last() {
            if h != cur.0 {
                break;
            }
            stack.pop();
            cur = (h + 1, node_hash(&left, &cur.1));
        }
        stack.push(cur);
    }
    let hashes: Vec<Hash> = stack.into_iter().map(|(_, h)| h).collect();
    fold_right(&hashes)
}

/// The RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    index: u64,
    size: u64,
    src: &S,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    materialize(&subtree_proof_ranges(index, index + 1, size), src)
}

/// The RFC 9162 §2.1.4.1 consistency proof from the tree of `old` leaves to that of `new`.
///
/// Empty when the sizes are equal; an error from size 0, which RFC 9162 leaves undefined.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    old: u64,
    new: u64,
    src: &S,
) -> Result<Vec<Hash>, ProofError> {
    if old == 0 {
        return Err(ProofError::OldSizeZero);
    }
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    materialize(&subtree_proof_ranges(0, old, new), src)
}

/// Inclusion proof of leaf `index` in the subtree `[start, end)` (the subtree's own `PATH`).
pub fn subtree_inclusion_proof<S: NodeSource + ?Sized>(
    index: u64,
    start: u64,
    end: u64,
    src: &S,
) -> Result<Vec<Hash>, ProofError> {
    check_subtree_index(index, start, end)?;
    let (i, n) = (index - start, end - start);
    let ranges: Vec<(u64, u64)> = subtree_proof_ranges(i, i + 1, n)
        .into_iter()
        .map(|(a, b)| (a + start, b + start))
        .collect();
    materialize(&ranges, src)
}

/// `SUBTREE_PROOF(start, end, D_size)`: proves the subtree `[start, end)` is part of the tree of
/// `size` leaves (draft-ietf-plants-merkle-tree-certs §4.4.1).
pub fn subtree_consistency_proof<S: NodeSource + ?Sized>(
    start: u64,
    end: u64,
    size: u64,
    src: &S,
) -> Result<Vec<Hash>, ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if end > size {
        return Err(ProofError::BeyondTree { end, size });
    }
    materialize(&subtree_proof_ranges(start, end, size), src)
}

fn check_subtree_index(index: u64, start: u64, end: u64) -> Result<(), ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, size: end });
    }
    Ok(())
}

/// Runs the RFC 9162 §2.1.3.2 algorithm and returns the root it arrives at.
fn inclusion_root(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    Ok(r)
}

/// Checks an RFC 9162 §2.1.3.2 inclusion proof of `leaf` at `index` in the tree of `size`
/// leaves with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if inclusion_root(leaf, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks an RFC 9162 §2.1.4.2 consistency proof between the tree of `old_size` leaves (root
/// `old_root`) and the tree of `new_size` leaves (root `new_root`).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size == 0 {
        return Err(ProofError::OldSizeZero);
    }
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyProof);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }
    // Step 2: a power-of-two old tree is itself a node of the new tree; its root starts the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that `leaf` is at `index` in the subtree `[start, end)` whose hash is `subtree_root`
/// (draft-ietf-plants-merkle-tree-certs §4.3.2).
pub fn verify_subtree_inclusion(
    leaf: &Hash,
    index: u64,
    start: u64,
    end: u64,
    proof: &[Hash],
    subtree_root: &Hash,
) -> Result<(), ProofError> {
    check_subtree_index(index, start, end)?;
    verify_inclusion(leaf, index - start, end - start, proof, subtree_root)
}

/// Checks that the subtree `[start, end)` with hash `subtree_root` is part of the tree of `size`
/// leaves with root `root` (draft-ietf-plants-merkle-tree-certs §4.4.3).
///
/// As in transparency-dev/merkle, the empty range `[n, n)` is accepted with an empty proof when
/// `subtree_root` is the empty-tree hash; it says nothing about `root`.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    subtree_root: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if end > size {
        return Err(ProofError::BeyondTree { end, size });
    }
    if start == end {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyProof);
        }
        return if *subtree_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(ProofError::OldRootMismatch)
        };
    }
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    let (mut f, mut s, mut t) = (start, end - 1, size - 1);
    if s == t {
        while f != s {
            f >>= 1;
            s >>= 1;
            t >>= 1;
        }
    } else {
        while f != s && s & 1 == 1 {
            f >>= 1;
            s >>= 1;
            t >>= 1;
        }
    }
    let (first, rest) = if f == s {
        (subtree_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(ProofError::ProofTooShort),
        }
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if t == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if s & 1 == 1 || s == t {
            if f < s {
                fr = node_hash(c, &fr);
            }
            sr = node_hash(c, &sr);
            while s & 1 == 0 {
                f >>= 1;
                s >>= 1;
                t >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
        t >>= 1;
    }
    if t != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *subtree_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Root by the RFC 9162 recursive definition, as an independent reference.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => EMPTY_ROOT,
            1 => d[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    #[test]
    fn roots_agree_with_recursive_definition() {
        let l = leaves(300);
        for n in 0..300 {
            assert_eq!(root_from_leaves(&l[..n]), mth(&l[..n]), "n={n}");
            assert_eq!(tree_root(n as u64, &l[..n]).ok(), Some(mth(&l[..n])));
        }
    }

    #[test]
    fn all_small_proofs_verify() {
        let l = leaves(40);
        for n in 1..=40u64 {
            let d = &l[..n as usize];
            let root = mth(d);
            for i in 0..n {
                let p = inclusion_proof(i, n, d).expect("proof");
                verify_inclusion(&l[i as usize], i, n, &p, &root).expect("verifies");
            }
            for m in 1..=n {
                let p = consistency_proof(m, n, d).expect("proof");
                verify_consistency(m, n, &mth(&l[..m as usize]), &root, &p).expect("verifies");
            }
            for start in 0..n {
                for end in start + 1..=n {
                    if !is_valid_subtree(start, end) {
                        continue;
                    }
                    let sub = mth(&l[start as usize..end as usize]);
                    let p = subtree_consistency_proof(start, end, n, d).expect("proof");
                    verify_subtree_consistency(start, end, n, &sub, &root, &p).expect("verifies");
                    for i in start..end {
                        let p = subtree_inclusion_proof(i, start, end, d).expect("proof");
                        verify_subtree_inclusion(&l[i as usize], i, start, end, &p, &sub)
                            .expect("verifies");
                    }
                }
            }
        }
    }

    #[test]
    fn draft_examples() {
        // From transparency-dev/tessera's tests of SubtreeConsistencyProof on 14 leaves.
        let l = leaves(14);
        let m = |a: usize, b: usize| mth(&l[a..b]);
        let p = subtree_consistency_proof(4, 8, 14, &l[..]).expect("proof");
        assert_eq!(p, vec![m(0, 4), m(8, 14)]);
        let p = subtree_consistency_proof(8, 13, 14, &l[..]).expect("proof");
        assert_eq!(p, vec![m(12, 13), m(13, 14), m(8, 12), m(0, 8)]);
    }

    #[test]
    fn degenerate_inputs() {
        let l = leaves(8);
        let root = mth(&l);
        assert!(matches!(
            inclusion_proof(8, 8, &l[..]),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(0, 8, &l[..]),
            Err(ProofError::OldSizeZero)
        ));
        assert!(matches!(
            verify_consistency(8, 8, &root, &root, &[root]),
            Err(ProofError::NonEmptyProof)
        ));
        assert!(matches!(
            verify_inclusion(&l[0], 0, 0, &[], &root),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(!is_valid_subtree(1, 1 + (1 << 63) + 1));
        assert!(!is_valid_subtree(2, 5));
        assert!(is_valid_subtree(4, 7));
    }
}
