//! Vigil's transparency log core: the arithmetic and formats that let anyone check, without
//! trusting Vigil's server, that a capture was recorded and never changed.
//!
//! One leaf per capture (the canonical capture record) goes into an RFC 9162 Merkle tree. The
//! tree is stored as C2SP tiles, its head is published as a C2SP checkpoint signed with Ed25519
//! (a signed note), and each capture gets a C2SP tlog-proof receipt that verifies offline.
//!
//! - [`Hash`](struct@Hash), [`leaf_hash`], [`node_hash`]: RFC 9162 hashing.
//! - [`inclusion_proof`], [`consistency_proof`], [`verify_inclusion`], [`verify_consistency`]
//!   (and the subtree variants): proofs, generated from a [`NodeSource`] of stored subtrees.
//! - [`Tile`], [`build_tiles`], [`TileNodes`]: tile names, building tiles for an append, and
//!   serving proof nodes from tiles held by a [`TileReader`].
//! - [`Signer`], [`Verifier`], [`Note`]: signed notes and their keys.
//! - [`Cosigner`], [`merge_cosignatures`], [`verify_cosignatures`]: witness cosignatures
//!   (C2SP tlog-cosignature, Ed25519 `cosignature/v1`), made, added to a checkpoint, checked.
//! - [`Checkpoint`], [`open_checkpoint`]: tree heads.
//! - [`Receipt`], [`verify_receipt`]: the offline receipt.
//! - [`CompactRange`]: roots at every size while leaves stream past (whole-log audits).
//!
//! The crate does no I/O, reads no clock and draws no randomness: storage hands tiles in
//! through [`TileReader`] and takes the blobs [`build_tiles`] returns; keys come from seeds the
//! caller supplies. `vigil-store` owns durability and the write order.
//!
//! ```
//! use std::collections::HashMap;
//! use vigil_tlog::*;
//!
//! // A log key (in real use the seed comes from the OS CSPRNG and is kept secret).
//! let signer = Signer::from_seed("vigil.example/log", &[42; 32])?;
//! let log_keys: Verifiers = signer.verifier().into();
//!
//! // Append three entries: tiles to store, and the new root.
//! let entries: [&[u8]; 3] = [b"capture one", b"capture two", b"capture three"];
//! let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
//! let mut tiles: HashMap<Tile, Vec<u8>> = HashMap::new();
//! let update = build_tiles(0, &leaves, &tiles)?;
//! tiles.extend(update.tiles);
//!
//! // Sign a checkpoint and issue a receipt for entry 1.
//! let checkpoint = Checkpoint::new("vigil.example/log", update.tree_size, update.root)?;
//! let receipt = Receipt {
//!     extra: Some(entries[1].to_vec()),
//!     index: 1,
//!     proof: inclusion_proof(1, update.tree_size, &TileNodes::new(&tiles, update.tree_size))?,
//!     checkpoint: checkpoint.sign(&[&signer])?,
//! }
//! .to_text();
//!
//! // Anyone holding the entry and the log's public key can check it offline.
//! let ok = verify_receipt(receipt.as_bytes(), "vigil.example/log", &log_keys, b"capture two")?;
//! assert_eq!(ok.checkpoint.size(), 3);
//! assert!(verify_receipt(receipt.as_bytes(), "vigil.example/log", &log_keys, b"forged").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod checkpoint;
mod compact;
mod cosignature;
mod hash;
mod note;
mod proof;
mod receipt;
mod tiles;

pub use checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
pub use compact::CompactRange;
pub use cosignature::{
    Cosignature, CosignatureCheck, Cosigner, merge_cosignatures, verify_cosignatures,
};
pub use hash::{EMPTY_ROOT, HASH_SIZE, Hash, HashError, leaf_hash, node_hash};
pub use note::{
    MAX_NOTE_SIZE, MAX_SIGNATURES, Note, NoteError, NoteSignature, SignatureKind, Signer,
    VerifiedNote, VerifiedSignature, Verifier, Verifiers, open_note, sign_note,
};
pub use proof::{
    NodeId, NodeSource, ProofError, SourceError, consistency_proof, inclusion_proof,
    is_valid_subtree, root_from_leaves, subtree_consistency_proof, subtree_inclusion_proof,
    tree_root, verify_consistency, verify_inclusion, verify_subtree_consistency,
    verify_subtree_inclusion,
};
pub use receipt::{
    MAX_RECEIPT_SIZE, RECEIPT_HEADER, Receipt, ReceiptError, VerifiedReceipt, verify_receipt,
    verify_receipt_from_extra,
};
pub use tiles::{
    LevelTiles, TILE_HEIGHT, TILE_WIDTH, Tile, TileCache, TileError, TileNodes, TileReader,
    TileUpdate, append_entry_bundles, build_tiles, encode_entry_bundle, parse_entry_bundle,
    partial_tiles, root_from_tiles, tile_counts,
};
