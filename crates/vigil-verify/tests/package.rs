//! End-to-end checks of `verify_package` on packages built here: a good one passes, and each
//! kind of tampering is detected and named with its code.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Pkg, Tsa, build};
use vigil_tlog::Signer;
use vigil_verify::{Code, KeySource, Options, Outcome, Report, verify_package};

fn opts(pkg: &Pkg) -> Options {
    Options {
        trusted_key: Some(pkg.vkey.clone()),
        tsa_roots: Vec::new(),
    }
}

fn verify(pkg: &Pkg, o: &Options) -> Report {
    verify_package(&pkg.root, o).unwrap()
}

/// The codes of failed findings, with their subjects, for assertion messages.
fn failures(r: &Report) -> Vec<(Code, String)> {
    r.failures().map(|f| (f.code, f.subject.clone())).collect()
}

fn assert_fails_with(r: &Report, code: Code, subject_part: &str) {
    assert!(!r.passed(), "should fail: {r}");
    assert!(
        r.failures()
            .any(|f| f.code == code && f.subject.contains(subject_part)),
        "expected {code} on {subject_part:?}, got {:?}",
        failures(r)
    );
}

#[test]
fn good_package_passes() {
    let pkg = build(None);
    let r = verify(&pkg, &opts(&pkg));
    assert!(r.passed(), "{r}");
    assert!(r.has(Code::BagComplete));
    assert!(r.has(Code::KeyGiven));
    assert_eq!(r.key.as_ref().unwrap().source, KeySource::Given);
    let cp = r.checkpoint.as_ref().unwrap();
    assert_eq!((cp.size, cp.verified), (7, true));
    assert_eq!(r.captures.len(), 2);
    assert_eq!(r.captures[0].leaf_index, Some(1));
    assert_eq!(r.captures[0].collector.as_deref(), Some("a.petrosyan"));
    assert_eq!(r.captures[1].leaf_index, Some(4));
    // Derivation #5's receipt is at the checkpoint of 4, tied to 7 by a consistency proof.
    assert!(
        r.derivations[0]
            .findings
            .iter()
            .any(|f| f.code == Code::Consistent),
        "{r}"
    );
    let video = r.items.iter().find(|i| i.sha256 == pkg.video).unwrap();
    assert_eq!(video.held_by_captures, vec![12, 31]);
    let photo = r.items.iter().find(|i| i.sha256 == pkg.photo).unwrap();
    assert_eq!(photo.held_by_captures, vec![31]);
    let thumb = r.items.iter().find(|i| i.sha256 == pkg.thumb).unwrap();
    assert_eq!(thumb.held_by_derivations, vec![5]);
    assert!(r.items.iter().all(|i| i.existed_by.is_none()));
    let text = r.to_string();
    assert!(text.contains("VERDICT: PASSED"), "{text}");
    assert!(
        text.contains("capture #12 of https://t.me/channel/42"),
        "{text}"
    );
    let json = r.to_json();
    assert_eq!(json["passed"], true);
    assert_eq!(json["items"][0]["findings"][0]["code"], "item-verified");
}

#[test]
fn without_a_key_the_package_key_is_used_and_said_so() {
    let pkg = build(None);
    let r = verify(&pkg, &Options::default());
    assert!(r.passed(), "{r}");
    let k = r.key.as_ref().unwrap();
    assert_eq!(k.source, KeySource::Package);
    assert_eq!(k.vkey, pkg.vkey);
    let note = r
        .log
        .iter()
        .find(|f| f.code == Code::KeyFromPackage)
        .unwrap();
    assert_eq!(note.outcome, Outcome::Note);
    assert!(note.message.contains(&pkg.vkey));
}

#[test]
fn a_different_key_fails_with_wrong_key() {
    let pkg = build(None);
    // Same log name, another key.
    let other = Signer::from_seed(support::ORIGIN, &[8; 32]).unwrap();
    let o = Options {
        trusted_key: Some(other.verifier().to_vkey()),
        ..Options::default()
    };
    let r = verify(&pkg, &o);
    assert_fails_with(&r, Code::WrongKey, "log/checkpoint");
    assert_fails_with(&r, Code::WrongKey, "capture-12");
    assert!(r.has(Code::PackageKeyDiffers));
    assert!(r.items.iter().all(|i| !i.passed()));
    // Another log altogether.
    let other = Signer::from_seed("other.example/log", &[7; 32]).unwrap();
    let o = Options {
        trusted_key: Some(other.verifier().to_vkey()),
        ..Options::default()
    };
    assert_fails_with(&verify(&pkg, &o), Code::WrongKey, "capture-31");
}

#[test]
fn a_bad_key_is_a_usage_error() {
    let pkg = build(None);
    let o = Options {
        trusted_key: Some("not a key".into()),
        ..Options::default()
    };
    assert!(verify_package(&pkg.root, &o).is_err());
    assert!(verify_package(&pkg.root.join("nothing"), &opts(&pkg)).is_err());
}

#[test]
fn tampered_item_is_detected() {
    let pkg = build(None);
    let file = format!("data/items/{}.mp4", pkg.video);
    let mut bytes = pkg.read(&file);
    bytes[1000] ^= 1;
    pkg.write(&file, &bytes);
    assert_fails_with(&verify(&pkg, &opts(&pkg)), Code::HashMismatch, &file);
    // Re-manifested: the bag is intact, but the file is not what the log recorded.
    pkg.rebag();
    let r = verify(&pkg, &opts(&pkg));
    assert!(!r.has(Code::HashMismatch), "{r}");
    assert_fails_with(&r, Code::ItemMismatch, &file);
    assert_fails_with(&r, Code::NotLogged, &file);
    let item = r.items.iter().find(|i| i.sha256 == pkg.video).unwrap();
    assert!(!item.passed());
    assert!(r.to_string().contains("NOT VERIFIED"));
}

#[test]
fn tampered_item_with_a_matching_index_is_not_logged() {
    let pkg = build(None);
    let file = format!("data/items/{}.jpg", pkg.photo);
    pkg.write(&file, b"another photo");
    let new = support::sha256_hex(b"another photo");
    pkg.edit_index(|v| {
        v["items"][1]["sha256"] = json!(new);
        v["items"][1]["size"] = json!(13);
    });
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::NotLogged, &file);
    assert!(!r.has(Code::ItemMismatch), "{r}");
}

#[test]
fn tampered_metadata_is_detected() {
    let pkg = build(None);
    let file = format!("data/metadata/{}.json", pkg.video);
    pkg.write(&file, br#"{"flags":["staged"],"pdq":null}"#);
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::HashMismatch, &file);
    assert!(!r.has(Code::BagComplete));
}

#[test]
fn tampered_leaf_is_detected() {
    let pkg = build(None);
    pkg.edit("data/captures/12.json", "a.petrosyan", "someone.else");
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::HashMismatch,
        "captures/12.json",
    );
    pkg.rebag();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::LeafMismatch, "capture-12");
    assert!(!r.captures[0].passed());
    assert!(r.captures[1].passed(), "{r}");
    // The video is still held by capture #31; the index's claim for #12 is not checked
    // against an unverified record.
    let video = r.items.iter().find(|i| i.sha256 == pkg.video).unwrap();
    assert_eq!(video.held_by_captures, vec![31]);
}

#[test]
fn a_leaf_filed_under_another_id_is_detected() {
    let pkg = build(None);
    let leaf31 = pkg.read("data/captures/31.json");
    let receipt31 = pkg.read("data/receipts/capture-31.tlog-proof");
    pkg.write("data/captures/12.json", leaf31);
    pkg.write("data/receipts/capture-12.tlog-proof", receipt31);
    pkg.rebag();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::LeafMismatch, "captures/12.json");
}

#[test]
fn a_non_canonical_leaf_is_refused() {
    let pkg = build(None);
    let leaf = String::from_utf8(pkg.read("data/captures/12.json")).unwrap();
    let spaced = leaf.replacen(":12,", ": 12,", 1);
    pkg.write("data/captures/12.json", &spaced);
    // A receipt whose extra is the re-formatted record (as if the log had committed it).
    let text = String::from_utf8(pkg.read("data/receipts/capture-12.tlog-proof")).unwrap();
    let r = vigil_tlog::Receipt::parse(text.as_bytes()).unwrap();
    let entries_changed = vigil_tlog::Receipt {
        extra: Some(spaced.into_bytes()),
        ..r
    };
    pkg.write(
        "data/receipts/capture-12.tlog-proof",
        entries_changed.to_text(),
    );
    pkg.rebag();
    // The extra no longer matches the log, so the receipt fails first.
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::ReceiptInvalid,
        "capture-12",
    );
}

#[test]
fn tampered_receipt_is_detected() {
    let pkg = build(None);
    let rel = "data/receipts/capture-31.tlog-proof";
    let text = String::from_utf8(pkg.read(rel)).unwrap();
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    // Line 3 is the first proof hash (after the header, extra and index lines).
    let h = vigil_tlog::Hash::from_base64(&lines[3]).unwrap();
    let mut b = h.0;
    b[0] ^= 1;
    lines[3] = vigil_tlog::Hash(b).to_base64();
    pkg.write(rel, lines.join("\n"));
    assert_fails_with(&verify(&pkg, &opts(&pkg)), Code::HashMismatch, rel);
    pkg.rebag();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::ReceiptInvalid, rel);
    let photo = r.items.iter().find(|i| i.sha256 == pkg.photo).unwrap();
    assert!(photo.findings.iter().any(|f| f.code == Code::NotLogged));
}

#[test]
fn tampered_checkpoint_is_detected() {
    let pkg = build(None);
    pkg.edit("data/log/checkpoint", "\n7\n", "\n8\n");
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::HashMismatch,
        "log/checkpoint",
    );
    pkg.rebag();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::SignatureInvalid, "log/checkpoint");
    assert!(!r.checkpoint.as_ref().unwrap().verified);
}

#[test]
fn tampered_consistency_proof_is_detected() {
    let pkg = build(None);
    let rel = "data/log/consistency/4.proof";
    let text = String::from_utf8(pkg.read(rel)).unwrap();
    let first = text.lines().nth(1).unwrap().to_owned();
    let mut b = vigil_tlog::Hash::from_base64(&first).unwrap().0;
    b[5] ^= 0x80;
    pkg.edit(rel, &first, &vigil_tlog::Hash(b).to_base64());
    pkg.rebag();
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::Inconsistent,
        "derivation-5",
    );
    // Without a proof, the tie is unproven.
    std::fs::remove_file(pkg.path(rel)).unwrap();
    pkg.rebag();
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::ConsistencyUnproven,
        "derivation-5",
    );
}

#[test]
fn tampered_manifest_is_detected() {
    let pkg = build(None);
    let manifest = String::from_utf8(pkg.read("manifest-sha256.txt")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.ends_with("data/custody.json"))
        .unwrap()
        .to_owned();
    let forged = format!("{}{}", "0".repeat(64), &line[64..]);
    pkg.edit("manifest-sha256.txt", &line, &forged);
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::HashMismatch, "data/custody.json");
    assert_fails_with(&r, Code::HashMismatch, "manifest-sha256.txt");
}

#[test]
fn tampered_bag_info_is_detected() {
    let pkg = build(None);
    pkg.edit("bag-info.txt", "Ombudsman Example", "Someone Else");
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::HashMismatch,
        "bag-info.txt",
    );
    let pkg = build(None);
    let info = String::from_utf8(pkg.read("bag-info.txt")).unwrap();
    let oxum = info
        .lines()
        .find(|l| l.starts_with("Payload-Oxum"))
        .unwrap()
        .to_owned();
    pkg.edit("bag-info.txt", &oxum, "Payload-Oxum: 1.1");
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::OxumMismatch, "bag-info.txt");
    assert_fails_with(&r, Code::HashMismatch, "bag-info.txt");
}

#[test]
fn unlisted_and_missing_files_are_detected() {
    let pkg = build(None);
    pkg.write("data/items/extra.bin", b"slipped in later");
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::UnlistedFile, "data/items/extra.bin");
    assert_fails_with(&r, Code::OxumMismatch, "bag-info.txt");

    let pkg = build(None);
    std::fs::remove_file(pkg.path("data/custody.json")).unwrap();
    assert_fails_with(
        &verify(&pkg, &opts(&pkg)),
        Code::MissingFile,
        "data/custody.json",
    );

    let pkg = build(None);
    std::fs::remove_file(pkg.path(&format!("data/items/{}.jpg", pkg.photo))).unwrap();
    pkg.rebag();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::MissingFile, &pkg.photo);
}

#[test]
fn path_traversal_is_refused() {
    let pkg = build(None);
    let mut manifest = String::from_utf8(pkg.read("manifest-sha256.txt")).unwrap();
    let zeros = "0".repeat(64);
    for p in [
        "data/../bagit.txt",
        "../../etc/passwd",
        "/etc/passwd",
        "data/./custody.json",
    ] {
        manifest.push_str(&format!("{zeros}  {p}\n"));
    }
    pkg.write("manifest-sha256.txt", &manifest);
    let r = verify(&pkg, &opts(&pkg));
    let unsafe_lines = r
        .failures()
        .filter(|f| f.code == Code::UnsafePath && f.subject.starts_with("manifest-sha256.txt"))
        .count();
    assert_eq!(unsafe_lines, 4, "{:?}", failures(&r));
    assert!(!r.has(Code::MissingFile), "{:?}", failures(&r));

    // In the index too.
    let pkg = build(None);
    pkg.edit_index(|v| v["captures"][0]["leaf"] = json!("../bagit.txt"));
    assert_fails_with(&verify(&pkg, &opts(&pkg)), Code::UnsafePath, "../bagit.txt");
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed() {
    let pkg = build(None);
    let outside = pkg.tmp.path().join("outside.txt");
    std::fs::write(&outside, b"outside the package").unwrap();
    std::os::unix::fs::symlink(&outside, pkg.path("data/link.txt")).unwrap();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::UnsafePath, "data/link.txt");
    // Listed in the manifest with the target's digest: still refused, never read.
    let mut manifest = String::from_utf8(pkg.read("manifest-sha256.txt")).unwrap();
    manifest.push_str(&format!(
        "{}  data/link.txt\n",
        support::sha256_hex(b"outside the package")
    ));
    pkg.write("manifest-sha256.txt", &manifest);
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::UnsafePath, "data/link.txt");
    assert!(!r.has(Code::MissingFile));
}

#[test]
fn index_claims_are_checked() {
    let pkg = build(None);
    // The photo is not in capture #12's record.
    pkg.edit_index(|v| v["items"][1]["captures"] = json!([12, 31]));
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::ClaimMismatch, &pkg.photo);
}

#[test]
fn what_the_bytes_are_is_reported_and_a_false_kind_fails() {
    let pkg = build(None);
    let r = verify(&pkg, &opts(&pkg));
    let photo = r.items.iter().find(|i| i.sha256 == pkg.photo).unwrap();
    assert_eq!(photo.detected_kind.as_deref(), Some("image"));
    assert_eq!(photo.detected_format.as_deref(), Some("jpeg"));
    let video = r.items.iter().find(|i| i.sha256 == pkg.video).unwrap();
    assert_eq!(video.detected_format.as_deref(), Some("mp4"));
    assert!(r.to_string().contains("image (jpeg)"), "{r}");

    // The index calls the JPEG a video: the report says what it is, and that it is not.
    pkg.edit_index(|v| v["items"][1]["kind"] = json!("video"));
    let r = verify(&pkg, &opts(&pkg));
    let file = format!("items/{}.jpg", pkg.photo);
    assert_fails_with(&r, Code::KindMismatch, &file);
    let photo = r.items.iter().find(|i| i.sha256 == pkg.photo).unwrap();
    assert_eq!(photo.kind.as_deref(), Some("video"), "the claim, as made");
    assert_eq!(photo.detected_kind.as_deref(), Some("image"));
    let text = r.to_string();
    let line = text
        .lines()
        .find(|l| l.contains(&file) && l.contains("VERIFIED"))
        .unwrap();
    assert!(
        line.contains("image (jpeg)") && !line.contains(", video"),
        "{line}"
    );
    assert!(line.contains("misdescribes"), "{line}");
    assert_eq!(r.failures().count(), 1, "{:?}", failures(&r));
}

#[test]
fn a_file_grown_beyond_payload_oxum_is_not_hashed() {
    let pkg = build(None);
    let file = format!("data/items/{}.mp4", pkg.video);
    let mut bytes = pkg.read(&file);
    bytes.resize(bytes.len() + (20 << 20), 0);
    pkg.write(&file, &bytes);
    let started = std::time::Instant::now();
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::OxumMismatch, "bag-info.txt");
    let named = r
        .failures()
        .find(|f| f.code == Code::OxumMismatch && f.subject == file)
        .unwrap_or_else(|| panic!("the grown file is named: {:?}", failures(&r)));
    assert!(named.message.contains("not hashed"), "{}", named.message);
    assert!(
        !r.failures()
            .any(|f| f.code == Code::HashMismatch && f.subject == file),
        "it was hashed anyway: {:?}",
        failures(&r)
    );
    // Everything else is still checked: the other files pass, and the video is unchecked.
    let photo = r.items.iter().find(|i| i.sha256 == pkg.photo).unwrap();
    assert!(photo.passed(), "{r}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // A small change is still hashed file by file, and the changed file named.
    let pkg = build(None);
    let meta = format!("data/metadata/{}.json", pkg.video);
    pkg.write(&meta, br#"{"flags":["staged"],"pdq":null}"#);
    let r = verify(&pkg, &opts(&pkg));
    assert_fails_with(&r, Code::HashMismatch, &meta);
    assert!(
        !r.failures().any(|f| f.message.contains("not hashed")),
        "{r}"
    );
}

#[test]
fn strings_from_the_package_are_bounded_and_escaped() {
    let pkg = build(None);
    let long = format!("data/\u{1b}[2J{}", "a".repeat(100_000));
    let mut manifest = String::from_utf8(pkg.read("manifest-sha256.txt")).unwrap();
    manifest.push_str(&format!("{}  {long}\n", "0".repeat(64)));
    pkg.write("manifest-sha256.txt", manifest);
    pkg.edit_index(|v| {
        v["items"][1]["file"] = json!(format!("items/\u{7}{}", "b".repeat(100_000)))
    });
    let r = verify(&pkg, &opts(&pkg));
    assert!(!r.passed());
    for f in r.findings() {
        assert!(
            f.subject.len() < 1000,
            "subject of {} bytes",
            f.subject.len()
        );
        assert!(
            f.message.len() < 3000,
            "message of {} bytes",
            f.message.len()
        );
        for s in [&f.subject, &f.message] {
            assert!(!s.chars().any(char::is_control), "{s:?}");
        }
    }
    for i in &r.items {
        assert!(i.file.len() < 1000, "item file of {} bytes", i.file.len());
    }
    let text = r.to_string();
    assert!(text.lines().all(|l| l.len() < 4000), "a line is too long");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    assert!(text.contains("more characters)"), "truncation is said");
}

#[test]
fn not_a_bag() {
    let dir = tempfile::TempDir::new().unwrap();
    let r = verify_package(dir.path(), &Options::default()).unwrap();
    assert!(!r.passed());
    assert!(r.has(Code::BagitInvalid));
    assert!(r.has(Code::MissingFile));
}

mod timestamps {
    use super::*;
    use vigil_verify::timestamp::{TimestampError, TsaRoots, verify_timestamp};

    fn evidence_digest() -> [u8; 32] {
        use sha2::Digest as _;
        let evidence = std::fs::read(support::vectors().join("evidence.bin")).unwrap();
        sha2::Sha256::digest(&evidence).into()
    }

    #[test]
    fn shared_vector_verifies_against_its_ca() {
        let resp = std::fs::read(support::vectors().join("resp.tsr")).unwrap();
        let ca = std::fs::read(support::vectors().join("ca.crt")).unwrap();
        let roots = TsaRoots::parse(&[ca]).unwrap();
        let ts = verify_timestamp(&resp, &evidence_digest(), &roots).unwrap();
        assert_eq!(ts.gen_time, "2026-11-25T17:22:03Z");
        assert_eq!(ts.tsa, "CN=Test TSA");
        assert_eq!(ts.trusted_root.as_deref(), Some("CN=Test Evidence Root CA"));
        assert_eq!(ts.policy, "1.3.6.1.4.1.99999.1");
        // Without roots: the signature is still checked, the TSA is not.
        let ts = verify_timestamp(&resp, &evidence_digest(), &TsaRoots::default()).unwrap();
        assert_eq!(ts.trusted_root, None);
        // DER roots work as well as PEM.
        let der = {
            let pem = std::fs::read_to_string(support::vectors().join("ca.crt")).unwrap();
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            decode_b64(&b64)
        };
        let roots = TsaRoots::parse(&[der]).unwrap();
        assert!(verify_timestamp(&resp, &evidence_digest(), &roots).is_ok());
    }

    #[test]
    fn the_tsa_certificate_itself_may_be_the_root() {
        let tsa = Tsa::shared();
        let digest = [0x42; 32];
        let cert = std::fs::read(tsa.dir.path().join("tsa.crt")).unwrap();
        let roots = TsaRoots::parse(&[cert]).unwrap();
        let ts = verify_timestamp(&tsa.stamp(&digest), &digest, &roots).unwrap();
        assert_eq!(ts.trusted_root.as_deref(), Some("CN=Test TSA"));
        // A token without the TSA certificate: verifiable only when it is given.
        let bare = tsa.stamp_with(&digest, false);
        assert!(verify_timestamp(&bare, &digest, &roots).is_ok());
        let ca_only = TsaRoots::parse(&[tsa.ca()]).unwrap();
        let e = verify_timestamp(&bare, &digest, &ca_only).unwrap_err();
        assert_eq!(e.code(), Code::TimestampInvalid, "{e}");
        assert!(verify_timestamp(&bare, &digest, &TsaRoots::default()).is_err());
    }

    #[test]
    fn bad_roots_are_usage_errors() {
        assert!(TsaRoots::parse(&[b"not a certificate".to_vec()]).is_err());
        assert!(
            TsaRoots::parse(&[b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n".to_vec()]).is_err()
        );
        let pkg = build(None);
        let o = Options {
            trusted_key: None,
            tsa_roots: vec![b"junk".to_vec()],
        };
        assert!(verify_package(&pkg.root, &o).is_err());
    }

    fn decode_b64(s: &str) -> Vec<u8> {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|c| *c != b'=') {
            let v = alphabet.iter().position(|a| *a == c).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn shared_vector_fails_for_other_bytes_and_other_roots() {
        let resp = std::fs::read(support::vectors().join("resp.tsr")).unwrap();
        let ca = std::fs::read(support::vectors().join("ca.crt")).unwrap();
        let roots = TsaRoots::parse(&[ca]).unwrap();
        let mut other = evidence_digest();
        other[0] ^= 1;
        let e = verify_timestamp(&resp, &other, &roots).unwrap_err();
        assert_eq!(e.code(), Code::TimestampInvalid);
        // Another CA, even one with the same name: untrusted.
        let roots = TsaRoots::parse(&[Tsa::other_ca()]).unwrap();
        let e = verify_timestamp(&resp, &evidence_digest(), &roots).unwrap_err();
        assert!(matches!(e, TimestampError::Untrusted(_)), "{e}");
        assert_eq!(e.code(), Code::TsaUntrusted);
        // Altered bytes: a flipped bit in the signature, or in the TSTInfo.
        for at in [resp.len() - 10, 100] {
            let mut bad = resp.clone();
            bad[at] ^= 1;
            let e = verify_timestamp(&bad, &evidence_digest(), &TsaRoots::default());
            assert!(matches!(e, Err(TimestampError::Invalid(_))), "{at}: {e:?}");
        }
        assert!(verify_timestamp(b"\x30\x00", &evidence_digest(), &TsaRoots::default()).is_err());
    }

    #[test]
    fn timestamped_package_passes_with_the_ca() {
        let tsa = Tsa::shared();
        let pkg = build(Some(&tsa));
        let o = Options {
            trusted_key: Some(pkg.vkey.clone()),
            tsa_roots: vec![tsa.ca()],
        };
        let r = verify(&pkg, &o);
        assert!(r.passed(), "{r}");
        assert!(r.has(Code::TimestampVerified));
        assert!(!r.has(Code::TsaUnchecked));
        let t = &r.timestamps[0];
        assert!(t.tsa_trusted);
        assert_eq!(t.tsa.as_deref(), Some("CN=Test TSA"));
        // Capture #12 is entry 1 < 3: covered. Capture #31 is entry 4: not.
        let e = r.captures[0].existed_by.as_ref().unwrap();
        assert_eq!(e.checkpoint_size, 3);
        assert_eq!(Some(&e.time), t.gen_time.as_ref());
        assert!(r.captures[1].existed_by.is_none());
        let video = r.items.iter().find(|i| i.sha256 == pkg.video).unwrap();
        assert_eq!(video.existed_by.as_ref().unwrap().time, e.time);
        let photo = r.items.iter().find(|i| i.sha256 == pkg.photo).unwrap();
        assert!(photo.existed_by.is_none());
        assert!(r.to_string().contains("existed no later than"));

        // Without a CA: passes, with a note.
        let r = verify(&pkg, &opts(&pkg));
        assert!(r.passed(), "{r}");
        assert!(r.has(Code::TsaUnchecked));
        assert!(
            r.captures[0]
                .existed_by
                .as_ref()
                .is_some_and(|e| !e.tsa_trusted)
        );

        // Against another CA: tsa-untrusted, and no time is given.
        let o = Options {
            trusted_key: Some(pkg.vkey.clone()),
            tsa_roots: vec![Tsa::other_ca()],
        };
        let r = verify(&pkg, &o);
        assert_fails_with(&r, Code::TsaUntrusted, "3.tsr");
        assert!(r.captures[0].existed_by.is_none());
    }

    #[test]
    fn timestamp_of_another_checkpoint_fails() {
        let tsa = Tsa::shared();
        let pkg = build(Some(&tsa));
        // The token of the checkpoint of 3 filed with the checkpoint of 4 (re-signed, valid).
        let cp4 = String::from_utf8(pkg.read("data/receipts/derivation-5.tlog-proof")).unwrap();
        let cp4 = cp4.split_once("\n\n").unwrap().1.to_owned();
        pkg.write("data/log/checkpoints/3.checkpoint", &cp4);
        pkg.rebag();
        let o = Options {
            trusted_key: Some(pkg.vkey.clone()),
            tsa_roots: vec![tsa.ca()],
        };
        let r = verify(&pkg, &o);
        assert_fails_with(&r, Code::TimestampInvalid, "3.tsr");
        assert_fails_with(&r, Code::ClaimMismatch, "3.checkpoint");
    }

    #[test]
    fn tampered_token_fails() {
        let tsa = Tsa::shared();
        let pkg = build(Some(&tsa));
        let rel = "data/log/checkpoints/3.tsr";
        let mut b = pkg.read(rel);
        let n = b.len();
        b[n - 5] ^= 1;
        pkg.write(rel, &b);
        pkg.rebag();
        let o = Options {
            trusted_key: Some(pkg.vkey.clone()),
            tsa_roots: vec![tsa.ca()],
        };
        let r = verify(&pkg, &o);
        assert_fails_with(&r, Code::TimestampInvalid, "3.tsr");
        assert!(r.captures[0].existed_by.is_none());
    }

    #[test]
    fn rsa_tsa_full_path() {
        let tsa = Tsa::rsa();
        let pkg = build(Some(&tsa));
        let o = Options {
            trusted_key: Some(pkg.vkey.clone()),
            tsa_roots: vec![tsa.ca()],
        };
        let r = verify(&pkg, &o);
        assert!(r.passed(), "{r}");
        assert_eq!(r.timestamps[0].tsa.as_deref(), Some("CN=Test RSA TSA"));
        assert!(r.captures[0].existed_by.is_some());
        // The P-256 CA does not vouch for the RSA TSA.
        let o = Options {
            trusted_key: Some(pkg.vkey.clone()),
            tsa_roots: vec![Tsa::shared().ca()],
        };
        assert_fails_with(&verify(&pkg, &o), Code::TsaUntrusted, "3.tsr");
    }
}
