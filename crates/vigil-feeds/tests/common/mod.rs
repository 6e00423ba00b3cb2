//! What the parser tests share: fixtures by name, URLs and media references.
#![allow(dead_code, clippy::unwrap_used)]

use url::Url;
use vigil_feeds::{MediaRef, MediaRefKind};

/// The bytes of `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A URL that is known to parse.
pub fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A media reference.
pub fn media(url: &str, kind: MediaRefKind) -> MediaRef {
    MediaRef {
        url: url.into(),
        kind,
    }
}
