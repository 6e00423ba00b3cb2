//! Builds small evidence packages in a temporary directory: a log made with `vigil_tlog`,
//! leaves in the canonical `vigil.capture/v1` / `vigil.derivation/v1` shape, receipts,
//! consistency proofs, RFC 3161 tokens made with `openssl ts`, and the BagIt manifests.
//!
//! The log (7 entries):
//!
//! ```text
//! 0 filler   1 capture #12   2 filler   3 derivation #5   4 capture #31   5 filler   6 filler
//! ```
//!
//! Receipts of captures #12 and #31 are at the latest checkpoint (7); derivation #5's is at
//! the checkpoint of 4, with `log/consistency/4.proof`. The checkpoint of 3 is time-stamped
//! (when asked), so capture #12 (entry 1) existed by its time and #31 (entry 4) is not covered.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;
use vigil_tlog::{
    Checkpoint, Hash, Receipt, Signer, consistency_proof, inclusion_proof, leaf_hash,
    root_from_leaves,
};

pub const ORIGIN: &str = "vigil.example/log";

pub fn vectors() -> PathBuf {
    vigil_testdata::vectors().join("rfc3161")
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Canonical JSON: keys sorted by bytes, no white space (independent of serde_json features).
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => serde_json::to_string(other).unwrap(),
    }
}

pub fn signer() -> Signer {
    Signer::from_seed(ORIGIN, &[7; 32]).unwrap()
}

/// A time-stamping authority: the test material copied to a directory `openssl ts` can
/// write its serial file in.
pub struct Tsa {
    pub dir: TempDir,
}

impl Tsa {
    /// The shared P-256 test TSA (`tsa.crt`, issued by `ca.crt`).
    pub fn shared() -> Tsa {
        let dir = TempDir::new().unwrap();
        for f in ["tsa.cnf", "tsa.crt", "tsa.key", "ca.crt"] {
            let bytes = std::fs::read(vectors().join(f)).unwrap();
            std::fs::write(dir.path().join(f), bytes).unwrap();
        }
        std::fs::write(dir.path().join("tsaserial"), "01\n").unwrap();
        Tsa { dir }
    }

    /// A fresh RSA-2048 CA and TSA, same configuration.
    pub fn rsa() -> Tsa {
        let dir = TempDir::new().unwrap();
        let cnf = std::fs::read(vectors().join("tsa.cnf")).unwrap();
        std::fs::write(dir.path().join("tsa.cnf"), cnf).unwrap();
        std::fs::write(dir.path().join("tsaserial"), "01\n").unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "30",
                "-subj",
                "/CN=Test RSA Root",
                "-config",
                "tsa.cnf",
                "-extensions",
                "v3_ca",
            ],
        );
        openssl(
            dir.path(),
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                "/CN=Test RSA TSA",
                "-config",
                "tsa.cnf",
            ],
        );
        openssl(
            dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "tsa.crt",
                "-days",
                "30",
                "-extfile",
                "tsa.cnf",
                "-extensions",
                "v3_tsa",
            ],
        );
        Tsa { dir }
    }

    /// Another CA, which issued no TSA certificate used here.
    pub fn other_ca() -> Vec<u8> {
        let dir = TempDir::new().unwrap();
        let cnf = std::fs::read(vectors().join("tsa.cnf")).unwrap();
        std::fs::write(dir.path().join("tsa.cnf"), cnf).unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "30",
                "-subj",
                "/CN=Test Evidence Root CA",
                "-config",
                "tsa.cnf",
                "-extensions",
                "v3_ca",
            ],
        );
        std::fs::read(dir.path().join("ca.crt")).unwrap()
    }

    pub fn ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("ca.crt")).unwrap()
    }

    /// A granted TimeStampResp over `digest`, with the TSA certificate in the token.
    pub fn stamp(&self, digest: &[u8; 32]) -> Vec<u8> {
        self.stamp_with(digest, true)
    }

    /// The same; without `cert`, the token omits the TSA certificate (no certReq).
    pub fn stamp_with(&self, digest: &[u8; 32], cert: bool) -> Vec<u8> {
        let d = self.dir.path();
        let hex = hex::encode(digest);
        let mut args = vec!["ts", "-query", "-digest", &hex, "-sha256", "-out", "q.tsq"];
        if cert {
            args.push("-cert");
        }
        openssl(d, &args);
        openssl(
            d,
            &[
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-queryfile",
                "q.tsq",
                "-out",
                "r.tsr",
            ],
        );
        std::fs::read(d.join("r.tsr")).unwrap()
    }
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed for these tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A package on disk.
pub struct Pkg {
    pub tmp: TempDir,
    pub root: PathBuf,
    pub vkey: String,
    /// The original video (capture #12 and #31).
    pub video: String,
    /// The photo (capture #31 only).
    pub photo: String,
    /// The thumbnail (derivation #5 of the video).
    pub thumb: String,
}

impl Pkg {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    /// Replaces the first occurrence of `from` in a file with `to` (same length or not).
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = String::from_utf8(self.read(rel)).unwrap();
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, text.replacen(from, to, 1));
    }

    /// Changes `data/package.json` and re-manifests the package.
    pub fn edit_index(&self, f: impl FnOnce(&mut Value)) {
        let mut v: Value = serde_json::from_slice(&self.read("data/package.json")).unwrap();
        f(&mut v);
        self.write("data/package.json", serde_json::to_vec_pretty(&v).unwrap());
        self.rebag();
    }

    /// Recomputes the manifests and Payload-Oxum, as a careful forger would.
    pub fn rebag(&self) {
        rebag(&self.root);
    }
}

fn capture_leaf(id: i64, source: &str, items: &[(&[u8], &str, &str)]) -> Vec<u8> {
    let items: Vec<Value> = items
        .iter()
        .map(|(bytes, name, role)| {
            json!({ "sha256": sha256_hex(bytes), "size": bytes.len(), "role": role, "name": name })
        })
        .collect();
    canonical(&json!({
        "format": "vigil.capture/v1",
        "capture": id,
        "run_id": format!("run-{id}"),
        "source": source,
        "kind": "url",
        "method": "http+yt-dlp",
        "status": "ok",
        "failure": null,
        "collector": "a.petrosyan",
        "captured_at": format!("2026-11-2{}T10:00:00.000000Z", id % 7),
        "vigil_version": "0.1.0",
        "tools": { "yt-dlp": "2026.11.01" },
        "note": "line\nbreak \"quoted\" Ա",
        "tags": ["pow"],
        "details": { "z": 1, "a": { "y": [1, 2.5], "b": null } },
        "items": items,
    }))
    .into_bytes()
}

fn derivation_leaf(id: i64, source: &[u8], output: &[u8]) -> Vec<u8> {
    canonical(&json!({
        "format": "vigil.derivation/v1",
        "derivation": id,
        "source": { "sha256": sha256_hex(source), "size": source.len() },
        "kind": "preview",
        "tool": "vigil-media/video_preview",
        "params": { "width": 512 },
        "created_at": "2026-11-26T09:00:00.000000Z",
        "vigil_version": "0.1.0",
        "items": [{ "sha256": sha256_hex(output), "size": output.len(), "role": "thumbnail",
                    "name": "thumbnail.jpg", "detail": { "width": 512, "height": 288 } }],
    }))
    .into_bytes()
}

/// Builds the package; with `tsa`, the checkpoint of 3 entries is time-stamped by it.
pub fn build(tsa: Option<&Tsa>) -> Pkg {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("export-20261127T120000Z-1");
    std::fs::create_dir_all(root.join("data")).unwrap();
    // An MP4's first bytes (what the index's "video" says), then filler.
    let video: Vec<u8> = b"\0\0\0\x18ftypisom\0\0\x02\0"
        .iter()
        .copied()
        .chain((0..300_000u32).map(|i| (i % 251) as u8))
        .collect();
    let photo = b"\xff\xd8\xff\xe0 a photo".to_vec();
    let thumb = b"\xff\xd8\xff\xe0 a thumbnail".to_vec();

    let leaf12 = capture_leaf(
        12,
        "https://t.me/channel/42",
        &[(&video, "post.mp4", "media")],
    );
    let leaf31 = capture_leaf(
        31,
        "https://example.org/post/7",
        &[
            (&video, "clip.mp4", "media"),
            (&photo, "photo.jpg", "media"),
        ],
    );
    let leaf5 = derivation_leaf(5, &video, &thumb);
    let entries: Vec<Vec<u8>> = vec![
        b"filler 0".to_vec(),
        leaf12.clone(),
        b"filler 2".to_vec(),
        leaf5.clone(),
        leaf31.clone(),
        b"filler 5".to_vec(),
        b"filler 6".to_vec(),
    ];
    let hashes: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let s = signer();
    let cp = |n: usize| {
        Checkpoint::new(ORIGIN, n as u64, root_from_leaves(&hashes[..n]))
            .unwrap()
            .sign(&[&s])
            .unwrap()
    };
    let receipt = |i: usize, n: usize| {
        Receipt {
            extra: Some(entries[i].clone()),
            index: i as u64,
            proof: inclusion_proof(i as u64, n as u64, &hashes[..n]).unwrap(),
            checkpoint: cp(n),
        }
        .to_text()
    };
    let consistency = |old: usize, new: usize| {
        let mut s = format!("old {old}\n");
        for h in consistency_proof(old as u64, new as u64, &hashes[..new]).unwrap() {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&cp(new));
        s
    };

    let w = |rel: &str, bytes: &[u8]| {
        let p = root.join("data").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    let (vh, ph, th) = (sha256_hex(&video), sha256_hex(&photo), sha256_hex(&thumb));
    w(&format!("items/{vh}.mp4"), &video);
    w(&format!("items/{ph}.jpg"), &photo);
    w(&format!("derived/{th}.jpg"), &thumb);
    w(
        &format!("metadata/{vh}.json"),
        br#"{"flags":[],"pdq":null}"#,
    );
    w(&format!("metadata/{ph}.json"), br#"{"flags":["graphic"]}"#);
    w("captures/12.json", &leaf12);
    w("captures/31.json", &leaf31);
    w("derivations/5.json", &leaf5);
    w("receipts/capture-12.tlog-proof", receipt(1, 7).as_bytes());
    w("receipts/capture-31.tlog-proof", receipt(4, 7).as_bytes());
    w("receipts/derivation-5.tlog-proof", receipt(3, 4).as_bytes());
    let vkey = s.verifier().to_vkey();
    w("log/verifier.vkey", format!("{vkey}\n").as_bytes());
    w("log/checkpoint", cp(7).as_bytes());
    w("log/consistency/4.proof", consistency(4, 7).as_bytes());
    w("custody.json", br#"{"events":[]}"#);
    w(
        "report/notes 100%.txt",
        b"a file whose name needs percent-encoding",
    );
    let mut stamped = Vec::new();
    if let Some(tsa) = tsa {
        let note = cp(3);
        w("log/checkpoints/3.checkpoint", note.as_bytes());
        let digest: [u8; 32] = Sha256::digest(note.as_bytes()).into();
        w("log/checkpoints/3.tsr", &tsa.stamp(&digest));
        w("log/consistency/3.proof", consistency(3, 7).as_bytes());
        stamped.push(
            json!({ "size": 3, "checkpoint": "log/checkpoints/3.checkpoint",
            "timestamp": "log/checkpoints/3.tsr", "consistency": "log/consistency/3.proof" }),
        );
    }
    let index = json!({
        "format": "vigil.package/v1",
        "export_id": "export-20261127T120000Z-1",
        "exported_at": "2026-11-27T12:00:00.000000Z",
        "exported_by": "a.petrosyan",
        "scope": { "items": [vh, ph] },
        "log": {
            "origin": ORIGIN,
            "verifier_key": "log/verifier.vkey",
            "checkpoint": "log/checkpoint",
            "timestamped_checkpoints": stamped,
        },
        "items": [
            { "sha256": vh, "size": video.len(), "file": format!("items/{vh}.mp4"),
              "kind": "video", "metadata": format!("metadata/{vh}.json"), "captures": [12, 31],
              "derived_from": null },
            { "sha256": ph, "size": photo.len(), "file": format!("items/{ph}.jpg"),
              "kind": "image", "metadata": format!("metadata/{ph}.json"), "captures": [31],
              "derived_from": null },
            { "sha256": th, "size": thumb.len(), "file": format!("derived/{th}.jpg"),
              "kind": "image", "metadata": null, "captures": [],
              "derived_from": { "item": vh, "derivation": 5 } },
        ],
        "captures": [
            { "id": 12, "leaf": "captures/12.json", "receipt": "receipts/capture-12.tlog-proof" },
            { "id": 31, "leaf": "captures/31.json", "receipt": "receipts/capture-31.tlog-proof" },
        ],
        "derivations": [
            { "id": 5, "leaf": "derivations/5.json", "receipt": "receipts/derivation-5.tlog-proof" },
        ],
    });
    w(
        "package.json",
        serde_json::to_string_pretty(&index).unwrap().as_bytes(),
    );
    std::fs::write(
        root.join("bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    )
    .unwrap();
    std::fs::write(
        root.join("bag-info.txt"),
        format!(
            "Source-Organization: Ombudsman Example\nBagging-Date: 2026-11-27\n\
             Bag-Software-Agent: vigil 0.1.0\nPayload-Oxum: 0.0\n\
             External-Identifier: export-20261127T120000Z-1\nExternal-Description: 3 items\n\
             Vigil-Package-Format: vigil.package/v1\nVigil-Log-Origin: {ORIGIN}\n"
        ),
    )
    .unwrap();
    rebag(&root);
    Pkg {
        tmp,
        root,
        vkey,
        video: vh,
        photo: ph,
        thumb: th,
    }
}

fn payload(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("data")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                out.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn encode(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\n', "%0A")
        .replace('\r', "%0D")
}

/// Writes manifest-sha256.txt, Payload-Oxum and tagmanifest-sha256.txt for what is there.
pub fn rebag(root: &Path) {
    let files = payload(root);
    let manifest: String = files
        .iter()
        .map(|(rel, b)| format!("{}  {}\n", sha256_hex(b), encode(rel)))
        .collect();
    std::fs::write(root.join("manifest-sha256.txt"), manifest).unwrap();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    let info = std::fs::read_to_string(root.join("bag-info.txt")).unwrap();
    let info: String = info
        .lines()
        .map(|l| {
            if l.starts_with("Payload-Oxum:") {
                format!("Payload-Oxum: {bytes}.{}\n", files.len())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(root.join("bag-info.txt"), info).unwrap();
    let tags: String = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"]
        .iter()
        .map(|f| {
            format!(
                "{}  {f}\n",
                sha256_hex(&std::fs::read(root.join(f)).unwrap())
            )
        })
        .collect();
    std::fs::write(root.join("tagmanifest-sha256.txt"), tags).unwrap();
}
