//! Content Credentials (C2PA): the signed record of where a picture or video came from and
//! what was done to it, when a camera, an editor or a newsroom attached one.
//!
//! Read and validated with the `c2pa` crate (Rust-native cryptography, no network: remote
//! manifests are not fetched and no trust list is consulted, so a valid signature still
//! reports its signer as untrusted). Every validation status is kept and shown: a hash
//! mismatch or a bad signature is reported as such, never hidden, and a manifest that cannot
//! be read at all (an unknown algorithm, damage) is reported as present but unreadable rather
//! than as absent.

use std::io::{Read, Seek};

use serde::Serialize;
use serde_json::Value;

/// What a file's Content Credentials say, and whether they hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContentCredentials {
    /// Label of the active (most recent) manifest.
    pub active_manifest: Option<String>,
    /// `Trusted`, `Valid` or `Invalid` as the c2pa library judges it (without a trust list a
    /// good signature is at most `Valid`); `Unreadable` when the manifest could not be read.
    pub validation_state: String,
    /// Why the manifest could not be read, when it could not.
    pub error: Option<String>,
    /// Every manifest in the store, the active one first.
    pub manifests: Vec<ManifestSummary>,
    /// Validation failures and warnings (`signingCredential.untrusted`,
    /// `assertion.dataHash.mismatch`, `claimSignature.mismatch`, …), of the active manifest and
    /// of ingredients.
    pub status: Vec<StatusEntry>,
    /// Checks that passed (`claimSignature.validated`, `timeStamp.validated`, …).
    pub passed: Vec<StatusEntry>,
    /// The full manifest store report as JSON, as the library writes it.
    pub report: Option<String>,
}

/// One manifest: who signed what, with which ingredients.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ManifestSummary {
    /// The manifest's label.
    pub label: Option<String>,
    /// The software that made the claim.
    pub claim_generator: Option<String>,
    /// Title of the asset.
    pub title: Option<String>,
    /// Format of the asset (MIME type).
    pub format: Option<String>,
    /// Signature algorithm (`Ps256`, `Es256`, `Ed25519`, …).
    pub algorithm: Option<String>,
    /// Certificate issuer.
    pub issuer: Option<String>,
    /// Signer's common name.
    pub signer: Option<String>,
    /// Signing time, from the time-stamp when there is one.
    pub signed_at: Option<String>,
    /// Assertion labels (`c2pa.actions.v2`, `stds.schema-org.CreativeWork`, …).
    pub assertions: Vec<String>,
    /// Actions recorded (`c2pa.created`, `c2pa.edited`, …) with their software agent.
    pub actions: Vec<String>,
    /// Ingredients: what the asset was made from.
    pub ingredients: Vec<IngredientSummary>,
}

/// An ingredient of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngredientSummary {
    /// Title of the ingredient.
    pub title: Option<String>,
    /// Its format.
    pub format: Option<String>,
    /// `parentOf`, `componentOf` or `inputTo`.
    pub relationship: Option<String>,
    /// Label of the ingredient's own manifest, when it had one.
    pub manifest: Option<String>,
    /// What validating the ingredient found when it was added (`claimSignature.mismatch`: its
    /// signature did not hold), as recorded in the manifest.
    pub status: Vec<StatusEntry>,
}

/// A validation status code with its explanation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusEntry {
    /// The C2PA status code.
    pub code: String,
    /// What it refers to (a JUMBF URI).
    pub url: Option<String>,
    /// The library's explanation.
    pub explanation: Option<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn statuses(v: Option<&Value>) -> Vec<StatusEntry> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| {
                    Some(StatusEntry {
                        code: text(s, "code")?,
                        url: text(s, "url"),
                        explanation: text(s, "explanation"),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn manifest(label: &str, m: &Value) -> ManifestSummary {
    let sig = m.get("signature_info");
    let field = |k: &str| sig.and_then(|s| text(s, k));
    let assertions: Vec<&Value> = m
        .get("assertions")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let actions = assertions
        .iter()
        .filter(|a| text(a, "label").is_some_and(|l| l.starts_with("c2pa.actions")))
        .filter_map(|a| a.get("data")?.get("actions")?.as_array())
        .flatten()
        .filter_map(|act| {
            let name = text(act, "action")?;
            Some(match act.get("softwareAgent") {
                Some(Value::String(agent)) => format!("{name} ({agent})"),
                Some(Value::Object(agent)) => match agent.get("name").and_then(Value::as_str) {
                    Some(n) => format!("{name} ({n})"),
                    None => name,
                },
                _ => name,
            })
        })
        .collect();
    ManifestSummary {
        label: Some(label.to_string()),
        claim_generator: text(m, "claim_generator").or_else(|| {
            m.get("claim_generator_info")?
                .as_array()?
                .iter()
                .filter_map(|g| text(g, "name"))
                .next()
        }),
        title: text(m, "title"),
        format: text(m, "format"),
        algorithm: field("alg"),
        issuer: field("issuer"),
        signer: field("common_name"),
        signed_at: field("time"),
        assertions: assertions.iter().filter_map(|a| text(a, "label")).collect(),
        actions,
        ingredients: m
            .get("ingredients")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|g| IngredientSummary {
                        title: text(g, "title"),
                        format: text(g, "format"),
                        relationship: text(g, "relationship"),
                        manifest: text(g, "active_manifest"),
                        status: statuses(g.get("validation_status")),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Reads and validates the Content Credentials in `stream`; `format` is a MIME type or
/// extension hint (`image/jpeg`, `video/mp4`) used when the bytes do not say. `None` when the
/// file has no manifest.
pub fn content_credentials(
    format: &str,
    mut stream: impl Read + Seek + Send,
) -> Option<ContentCredentials> {
    // Most files have none; their structure says so far faster than `c2pa` can.
    if !crate::c2pa_marker::may_carry_manifest(&mut stream) {
        return None;
    }
    stream.rewind().ok()?;
    read_with_c2pa(format, stream)
}

/// [`content_credentials`] without the structural shortcut.
pub(crate) fn read_with_c2pa(
    format: &str,
    stream: impl Read + Seek + Send,
) -> Option<ContentCredentials> {
    let reader = match c2pa::Reader::from_context(c2pa::Context::new()).with_stream(format, stream)
    {
        Ok(r) => r,
        Err(c2pa::Error::JumbfNotFound)
        | Err(c2pa::Error::UnsupportedType)
        | Err(c2pa::Error::ProvenanceMissing) => return None,
        Err(e) => {
            return Some(ContentCredentials {
                validation_state: "Unreadable".into(),
                error: Some(format!("{e}")),
                ..Default::default()
            });
        }
    };
    let report = reader.json();
    let v: Value = serde_json::from_str(&report).unwrap_or(Value::Null);
    let active = text(&v, "active_manifest");
    let mut manifests: Vec<ManifestSummary> = v
        .get("manifests")
        .and_then(Value::as_object)
        .map(|all| all.iter().map(|(label, m)| manifest(label, m)).collect())
        .unwrap_or_default();
    // The active one first, then by label, so the order does not depend on a hash map.
    manifests.sort_by_key(|m| (m.label != active, m.label.clone()));
    let results = v.get("validation_results");
    let active_results = results.and_then(|r| r.get("activeManifest"));
    let mut status = statuses(v.get("validation_status"));
    for s in statuses(active_results.and_then(|a| a.get("failure"))) {
        if !status.contains(&s) {
            status.push(s);
        }
    }
    for m in &manifests {
        for g in &m.ingredients {
            for s in &g.status {
                if !status.contains(s) {
                    status.push(s.clone());
                }
            }
        }
    }
    for delta in results
        .and_then(|r| r.get("ingredientDeltas"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for s in statuses(delta.get("validationDeltas").and_then(|d| d.get("failure"))) {
            if !status.contains(&s) {
                status.push(s);
            }
        }
    }
    Some(ContentCredentials {
        active_manifest: active,
        validation_state: format!("{:?}", reader.validation_state()),
        error: None,
        manifests,
        status,
        passed: statuses(active_results.and_then(|a| a.get("success"))),
        report: Some(report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c2pa() -> String {
        format!("{}/c2pa/", vigil_testdata::vectors().display())
    }

    fn read(name: &str, format: &str) -> Option<ContentCredentials> {
        let file = std::fs::File::open(format!("{}{name}", c2pa())).expect("fixture");
        content_credentials(format, file)
    }

    fn codes(c: &ContentCredentials) -> Vec<&str> {
        c.status.iter().map(|s| s.code.as_str()).collect()
    }

    #[test]
    fn a_valid_claim_with_an_untrusted_signer() {
        let c = read("C.jpg", "image/jpeg").expect("a manifest");
        assert_eq!(c.validation_state, "Valid");
        assert_eq!(codes(&c), vec!["signingCredential.untrusted"]);
        assert!(
            c.passed
                .iter()
                .any(|s| s.code == "claimSignature.validated")
        );
        let m = &c.manifests[0];
        assert_eq!(m.label, c.active_manifest);
        assert_eq!(m.algorithm.as_deref(), Some("Ps256"));
        assert_eq!(m.issuer.as_deref(), Some("C2PA Test Signing Cert"));
        assert!(m.actions.iter().any(|a| a.starts_with("c2pa.created")));
    }

    #[test]
    fn ingredients_and_a_bad_ingredient_signature() {
        let c = read("CA.jpg", "image/jpeg").expect("a manifest");
        assert!(
            c.manifests[0]
                .ingredients
                .iter()
                .any(|g| g.relationship.as_deref() == Some("parentOf"))
        );
        let bad = read("CIE-sig-CA.jpg", "image/jpeg").expect("a manifest");
        eprintln!("{:?} {:?}", bad.validation_state, codes(&bad));
        assert!(
            codes(&bad).contains(&"claimSignature.mismatch"),
            "{:?}",
            codes(&bad)
        );
        let ingredient = bad.manifests[0]
            .ingredients
            .iter()
            .find(|g| !g.status.is_empty())
            .expect("the ingredient that failed");
        assert_eq!(ingredient.status[0].code, "claimSignature.mismatch");
    }

    #[test]
    fn unknown_algorithm_is_reported_not_hidden() {
        let c = read("no_alg.jpg", "image/jpeg").expect("present, though unreadable");
        assert_eq!(c.validation_state, "Unreadable");
        assert!(c.error.is_some());
    }

    #[test]
    fn no_manifest_video_manifest_and_hostile_bytes() {
        assert!(read("no_manifest.jpg", "image/jpeg").is_none());
        assert!(read("sample1.png", "image/png").is_none());
        assert!(read("sample1.webp", "image/webp").is_none());
        let v = read("video1.mp4", "video/mp4").expect("a manifest");
        assert_ne!(v.validation_state, "Unreadable");
        assert!(!v.manifests.is_empty());
        // Damage inside the manifest of C.jpg: reported, no panic.
        let mut bytes = std::fs::read(format!("{}C.jpg", c2pa())).expect("read");
        for b in bytes.iter_mut().skip(200).step_by(97).take(200) {
            *b ^= 0x55;
        }
        let damaged = content_credentials("image/jpeg", std::io::Cursor::new(bytes));
        if let Some(d) = damaged {
            assert!(
                d.validation_state != "Valid" || !d.status.is_empty(),
                "{d:?}"
            );
        }
        assert!(content_credentials("image/jpeg", std::io::Cursor::new(Vec::new())).is_none());
    }
}
