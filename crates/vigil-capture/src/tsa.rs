//! RFC 3161 time-stamping: asks a Time-Stamping Authority to sign the SHA-256 of some bytes
//! (Vigil: each signed log checkpoint) with its own trusted clock, so the time a checkpoint
//! existed rests on a third party, not on Vigil's clock.
//!
//! The request is built here (a small, fixed DER structure); the response is kept verbatim
//! and checked only as far as needed to know it answers *this* request: status granted, and
//! the token carries our digest and nonce. Its CMS signature is for the verifier to check
//! against the TSA's certificate (`openssl ts -verify`), which is the point of a TSA.
//!
//! The TSA is chosen by the operator (`[log] tsa_url`), so it is not subject to the SSRF
//! guard, which protects against URLs that come from untrusted sources.

use std::time::Duration;

use crate::tls::{SeenChains, client_config};

/// Largest response accepted (tokens with certificate chains are a few KiB).
const MAX_RESPONSE: usize = 256 << 10;

/// Why no time-stamp was obtained.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The TSA could not be reached or answered with an HTTP error.
    #[error("time-stamping authority {url}: {message}")]
    Http {
        /// The TSA.
        url: String,
        /// What happened.
        message: String,
    },
    /// The answer is not a granted time-stamp for our request.
    #[error("time-stamping authority {url} answered with no usable time-stamp: {message}")]
    Refused {
        /// The TSA.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// A granted RFC 3161 response.
#[derive(Debug, Clone)]
pub struct TimeStamp {
    /// The DER `TimeStampResp`, verbatim.
    pub response: Vec<u8>,
}

/// The DER `TimeStampReq` for a SHA-256 digest, with a nonce and a request for the TSA's
/// certificate in the token (so a verifier needs only the CA).
pub fn timestamp_request(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    // AlgorithmIdentifier { id-sha256, NULL }
    const SHA256_ALG: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ];
    let nonce = nonce_bytes(nonce);
    let mut body = vec![0x02, 0x01, 0x01]; // version v1
    body.extend_from_slice(&[0x30, (SHA256_ALG.len() + 34) as u8]);
    body.extend_from_slice(&SHA256_ALG);
    body.extend_from_slice(&[0x04, 0x20]);
    body.extend_from_slice(digest);
    body.extend_from_slice(&[0x02, nonce.len() as u8]);
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&[0x01, 0x01, 0xff]); // certReq TRUE
    let mut req = vec![0x30, body.len() as u8];
    req.extend_from_slice(&body);
    req
}

/// A positive DER INTEGER's content octets (minimal, with a leading zero when needed).
fn nonce_bytes(nonce: u64) -> Vec<u8> {
    let raw = nonce.to_be_bytes();
    let first = raw.iter().position(|b| *b != 0).unwrap_or(7);
    let mut out = raw[first..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

/// Asks the TSA at `url` to time-stamp `digest`.
pub async fn request_timestamp(
    url: &str,
    digest: &[u8; 32],
    timeout: Duration,
) -> Result<TimeStamp, TsaError> {
    let http = |message: String| TsaError::Http {
        url: url.to_owned(),
        message,
    };
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| http(format!("no randomness for a nonce: {e}")))?;
    let nonce = u64::from_be_bytes(nonce) >> 1;
    let tls = client_config(&[], SeenChains::default()).map_err(|e| http(e.to_string()))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| http(e.to_string()))?;
    let mut response = client
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .body(timestamp_request(digest, nonce))
        .send()
        .await
        .map_err(|e| http(e.to_string()))?;
    if !response.status().is_success() {
        return Err(http(format!("HTTP {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http(e.to_string()))? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(http(format!("response larger than {MAX_RESPONSE} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    check_response(&body, digest, nonce).map_err(|message| TsaError::Refused {
        url: url.to_owned(),
        message,
    })?;
    Ok(TimeStamp { response: body })
}

/// Checks that `der` is a granted `TimeStampResp` whose token names `digest` and `nonce`.
pub fn check_response(der: &[u8], digest: &[u8; 32], nonce: u64) -> Result<(), String> {
    let (outer, _) = read_tlv(der, 0x30).ok_or("not a DER SEQUENCE")?;
    let (status_info, token) = read_tlv(outer, 0x30).ok_or("no PKIStatusInfo")?;
    let (status, _) = read_tlv(status_info, 0x02).ok_or("no PKIStatus")?;
    match status {
        [0] | [1] => {}
        other => return Err(format!("status {other:?} (not granted)")),
    }
    if token.is_empty() {
        return Err("granted but no token".into());
    }
    if !contains(token, digest) {
        return Err("the token does not carry the digest that was sent".into());
    }
    let mut nonce_tlv = vec![0x02];
    let n = nonce_bytes(nonce);
    nonce_tlv.push(n.len() as u8);
    nonce_tlv.extend_from_slice(&n);
    if !contains(token, &nonce_tlv) {
        return Err("the token does not carry the nonce that was sent".into());
    }
    Ok(())
}

/// Reads one DER TLV with `tag` at the start of `der`: (its content, what follows).
fn read_tlv(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *der.first()? != tag {
        return None;
    }
    let first = *der.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in der.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((der.get(header..end)?, der.get(end..)?))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> std::path::PathBuf {
        vigil_testdata::vectors().join("rfc3161")
    }

    #[test]
    fn request_matches_openssl_layout() {
        // The upstream request was made by `openssl ts -query -sha256 -cert` on evidence.bin:
        // same structure as ours, other nonce. Compare everything but the nonce.
        let dir = vectors();
        let evidence = std::fs::read(dir.join("evidence.bin")).expect("evidence.bin");
        let theirs = std::fs::read(dir.join("req.tsq")).expect("req.tsq");
        let digest: [u8; 32] = {
            use sha2::Digest as _;
            sha2::Sha256::digest(&evidence).into()
        };
        let ours = timestamp_request(&digest, 1);
        // version + messageImprint are identical byte for byte.
        let prefix = 2 + 3 + 2 + 15 + 2 + 32;
        assert_eq!(ours[2..prefix], theirs[2..prefix]);
        assert_eq!(
            &ours[ours.len() - 3..],
            &theirs[theirs.len() - 3..],
            "certReq TRUE"
        );
    }

    #[test]
    fn the_reference_response_is_granted_for_its_digest_only() {
        let dir = vectors();
        let evidence = std::fs::read(dir.join("evidence.bin")).expect("evidence.bin");
        let resp = std::fs::read(dir.join("resp.tsr")).expect("resp.tsr");
        let digest: [u8; 32] = {
            use sha2::Digest as _;
            sha2::Sha256::digest(&evidence).into()
        };
        // The nonce of the reference request, read from it.
        let req = std::fs::read(dir.join("req.tsq")).expect("req.tsq");
        let (body, _) = read_tlv(&req, 0x30).expect("req");
        let (_, rest) = read_tlv(body, 0x02).expect("version");
        let (_, rest) = read_tlv(rest, 0x30).expect("imprint");
        let (nonce, _) = read_tlv(rest, 0x02).expect("nonce");
        let nonce = nonce.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
        assert_eq!(check_response(&resp, &digest, nonce), Ok(()));
        assert!(check_response(&resp, &[0; 32], nonce).is_err());
        assert!(check_response(&resp, &digest, nonce ^ 1).is_err());
        assert!(check_response(b"\x30\x03\x02\x01\x02", &digest, nonce).is_err());
        assert!(check_response(b"", &digest, nonce).is_err());
    }

    #[test]
    fn nonces_are_positive_minimal_integers() {
        assert_eq!(nonce_bytes(1), [1]);
        assert_eq!(nonce_bytes(0x80), [0, 0x80]);
        assert_eq!(nonce_bytes(0x0100), [1, 0]);
    }
}
