//! RFC 9162 §2.1.1 Merkle tree hashing with SHA-256.
//!
//! Leaves and interior nodes are hashed with different one-byte prefixes (0x00 and 0x01) so
//! that a leaf can never be passed off as an interior node (second-preimage resistance).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

/// Size in bytes of every hash in the tree (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash: a leaf hash, an interior node hash or a tree root.
///
/// A fixed-size array rather than a byte vector, so that a hash of the wrong length cannot be
/// constructed at all: the length check happens once, where bytes enter the crate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// Why bytes or text could not be read as a [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The decoded value was not exactly 32 bytes long.
    #[error("hash must be {HASH_SIZE} bytes, got {0}")]
    Length(usize),
    /// The text was not valid hexadecimal.
    #[error("hash is not valid hex")]
    Hex,
    /// The text was not canonical standard base64 (RFC 4648 §4, padded).
    #[error("hash is not canonical base64")]
    Base64,
}

/// SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

impl Hash {
    /// The raw 32 bytes, for callers that store or compare hashes as bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Reads a hash from a byte slice, rejecting any length other than 32.
    ///
    /// Proof verifiers must not accept truncated or padded hashes (the upstream vectors test
    /// exactly this), so this is the only way untyped bytes become a [`Hash`](struct@Hash).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        <[u8; HASH_SIZE]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashError::Length(bytes.len()))
    }

    /// Lowercase hex, the form Vigil uses in its catalog and logs.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashError> {
        let bytes = hex::decode(text).map_err(|_| HashError::Hex)?;
        Self::from_slice(&bytes)
    }

    /// Standard padded base64, the form C2SP checkpoints and proofs use.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses canonical standard padded base64 of exactly 32 bytes.
    ///
    /// Non-canonical encodings (stray bits in the last character) are refused, so that every
    /// hash has exactly one text form and signed text cannot be varied without changing it.
    pub fn from_base64(text: &str) -> Result<Self, HashError> {
        Self::from_slice(&decode_base64(text).ok_or(HashError::Base64)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; HASH_SIZE]> for Hash {
    fn from(bytes: [u8; HASH_SIZE]) -> Self {
        Hash(bytes)
    }
}

impl TryFrom<&[u8]> for Hash {
    type Error = HashError;
    fn try_from(bytes: &[u8]) -> Result<Self, HashError> {
        Hash::from_slice(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The RFC 9162 leaf hash `SHA-256(0x00 || data)` of one log entry.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// SHA-256 initial state (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The RFC 9162 interior node hash `SHA-256(0x01 || left || right)`.
///
/// The input is always 65 bytes, so the two padded SHA-256 blocks are laid out by hand and fed
/// to the compression function directly; this is the hot loop of tile building and proof
/// generation, and skipping the streaming hasher's buffering saves about a quarter of its cost.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut blocks = [[0u8; 64]; 2];
    blocks[0][0] = 0x01;
    blocks[0][1..33].copy_from_slice(&left.0);
    blocks[0][33..64].copy_from_slice(&right.0[..31]);
    blocks[1][0] = right.0[31];
    blocks[1][1] = 0x80;
    // Message length in bits (65 * 8 = 520), big-endian, in the last 8 bytes.
    blocks[1][56..64].copy_from_slice(&520u64.to_be_bytes());
    let mut state = SHA256_IV;
    sha2::compress256(&mut state, &blocks.map(Into::into));
    let mut out = [0u8; HASH_SIZE];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    Hash(out)
}

/// Decodes canonical standard padded base64; `None` for anything else.
///
/// Shared by every text format in the crate so they all apply the same strictness.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = BASE64.decode(text).ok()?;
    // The base64 crate already rejects non-zero trailing bits; the round trip also guards
    // against any other alternative spelling.
    (BASE64.encode(&bytes) == text).then_some(bytes)
}

/// Standard padded base64, shared by the text formats.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_hash_is_plain_sha256() {
        let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
        let mut h = Sha256::new();
        h.update([0x01]);
        h.update(l.0);
        h.update(r.0);
        assert_eq!(node_hash(&l, &r), Hash(h.finalize().into()));
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, Hash(Sha256::digest(b"").into()));
    }

    #[test]
    fn leaf_and_node_prefixes() {
        // From transparency-dev/merkle testonly constants: leaf of the empty input.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l = leaf_hash(b"");
        let r = leaf_hash(&[0x00]);
        assert_eq!(
            node_hash(&l, &r).to_hex(),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }

    #[test]
    fn text_round_trips_and_strictness() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert_eq!(Hash::from_slice(&[0; 31]), Err(HashError::Length(31)));
        assert_eq!(Hash::from_base64("V3JvbmdSb290"), Err(HashError::Length(9)));
        // Unpadded and non-canonical forms are refused.
        let b64 = h.to_base64();
        assert!(Hash::from_base64(b64.trim_end_matches('=')).is_err());
        assert!(Hash::from_hex("zz").is_err());
        // 'V' sets one of the two unused low bits of the final character.
        assert_eq!(
            Hash::from_base64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            Ok(EMPTY_ROOT)
        );
        assert!(Hash::from_base64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=").is_err());
    }
}
