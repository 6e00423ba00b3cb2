//! The 256-bit hash value, its hex form and Hamming distance.

use std::fmt;

use crate::PdqError;

/// A PDQ hash: 256 bits, stored in the byte order of the upstream 64-hex-digit string.
///
/// Byte `0` is the first two hex digits. Upstream keeps sixteen 16-bit words `w[0..16]` (word `i`
/// holds DCT row `i`, bit `j` its column `j`) and prints them `w[15]` first, each big-endian; this
/// type stores exactly that text's bytes, so [`PdqHash::to_hex`] and [`PdqHash::from_hex`] are
/// plain hex and hashes compare with those of every other PDQ implementation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u8; 32]);

impl PdqHash {
    /// The upstream text form: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        s
    }

    /// Parses the upstream text form (64 hex digits, either case), e.g. from ThreatExchange or a
    /// hash list exchanged with partners.
    pub fn from_hex(text: &str) -> Result<PdqHash, PdqError> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(PdqError::InvalidHex {
                reason: "expected 64 hex digits",
            });
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Ok(PdqHash(out))
    }

    /// Hamming distance (number of differing bits, 0..=256). Two images match when it is at most
    /// [`MATCH_DISTANCE`](crate::MATCH_DISTANCE).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let mut d = 0;
        for (a, b) in self.0.chunks_exact(8).zip(other.0.chunks_exact(8)) {
            let mut wa = [0u8; 8];
            let mut wb = [0u8; 8];
            wa.copy_from_slice(a);
            wb.copy_from_slice(b);
            d += (u64::from_le_bytes(wa) ^ u64::from_le_bytes(wb)).count_ones();
        }
        d
    }

    /// Sets the bit of DCT coefficient (`row`, `col`), both in `0..16`, where upstream's
    /// `setBit(row * 16 + col)` puts it.
    pub(crate) fn set_bit(&mut self, row: usize, col: usize) {
        let byte = 2 * (15 - row) + usize::from(col < 8);
        self.0[byte] |= 1 << (col & 7);
    }
}

fn nibble(c: u8) -> Result<u8, PdqError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(PdqError::InvalidHex {
            reason: "non-hex character",
        }),
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl std::str::FromStr for PdqHash {
    type Err = PdqError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PdqHash::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn hex_round_trip_and_case() {
        let h = PdqHash::from_hex(H).expect("valid");
        assert_eq!(h.to_hex(), H);
        assert_eq!(h.to_string(), H);
        assert_eq!(PdqHash::from_hex(&H.to_uppercase()), Ok(h));
        assert_eq!(H.parse::<PdqHash>(), Ok(h));
    }

    #[test]
    fn bad_hex_is_refused() {
        for bad in ["", "f8", &H[1..], &format!("{H}0"), &H.replace('f', "g")] {
            let err = PdqHash::from_hex(bad).expect_err(bad);
            assert_eq!(err.code(), "invalid-hash-hex");
        }
        // A multi-byte character must not be split or panic.
        let s = format!("é{}", &H[2..]);
        assert!(PdqHash::from_hex(&s).is_err());
    }

    #[test]
    fn distance_counts_bits() {
        let a = PdqHash::from_hex(H).expect("valid");
        assert_eq!(a.distance(&a), 0);
        let mut b = a;
        b.0[0] ^= 0b1011;
        b.0[31] ^= 0x80;
        assert_eq!(a.distance(&b), 4);
        assert_eq!(PdqHash([0; 32]).distance(&PdqHash([0xff; 32])), 256);
    }

    #[test]
    fn bit_layout_matches_upstream_words() {
        // Upstream bit 0 is the lowest bit of w[0], printed last; bit 255 the top of w[15], first.
        let mut h = PdqHash::default();
        h.set_bit(0, 0);
        assert!(h.to_hex().ends_with("0001"));
        let mut h = PdqHash::default();
        h.set_bit(15, 15);
        assert!(h.to_hex().starts_with("8000"));
        let mut h = PdqHash::default();
        h.set_bit(1, 8);
        assert!(h.to_hex().ends_with("01000000"));
    }
}
