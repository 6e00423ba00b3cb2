//! Perceptual hashes from the real binary: `vigil hash`, `vigil compare`, and the enrichment
//! that analyses every captured item, keeping the bytes of files that cannot be decoded.

use crate::support::*;

fn pdq_data() -> std::path::PathBuf {
    vigil_testdata::vectors().join("threatexchange/pdq/data")
}

#[test]
fn hash_and_compare_images() {
    let s = TestStore::new();
    let data = pdq_data();
    let orig = data.join("bridge-mods/aaa-orig.jpg");
    let out = s
        .cmd()
        .args(["--json", "hash"])
        .arg(&orig)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // The PyPI pdqhash reference gives f8f8f0ce… on Pillow's pixels; another JPEG decoder may
    // move a few bits.
    let hash = vigil_phash_hex(&v["stored"][0]);
    let reference = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    assert!(hamming(&hash, reference) <= 4, "{hash}");

    let compare = |a: &std::path::Path, b: &std::path::Path| {
        s.cmd().arg("compare").arg(a).arg(b).output().expect("run")
    };
    let same = compare(&orig, &data.join("bridge-mods/blur-a-lot.jpg"));
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    assert!(text(&same.stdout).starts_with("MATCH"));
    let other = compare(&orig, &data.join("misc-images/c.png"));
    assert_eq!(other.status.code(), Some(1), "{}", text(&other.stdout));
    assert!(text(&other.stdout).starts_with("DIFFERENT"));

    // Hostile files: a clear error each, no crash.
    let empty = s.dir.path().join("empty.jpg");
    write(&empty, b"");
    let cut = s.dir.path().join("cut.jpg");
    let bytes = std::fs::read(&orig).expect("read");
    write(&cut, &bytes[..bytes.len() / 3]);
    let out = s
        .cmd()
        .args(["--json", "hash"])
        .arg(&empty)
        .arg(&cut)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["code"], "unsupported-format", "{lines:?}");
    assert!(lines[1]["code"].is_string(), "{lines:?}");
}

#[test]
fn captured_images_are_hashed_and_undecodable_ones_kept() {
    let s = TestStore::new();
    let data = pdq_data();
    let src = s.dir.path().join("channel");
    let orig = std::fs::read(data.join("bridge-mods/aaa-orig.jpg")).expect("read");
    write(&src.join("post-1.jpg"), &orig);
    write(
        &src.join("post-2.jpg"),
        &std::fs::read(data.join("bridge-mods/shrink-a-lot.jpg")).expect("read"),
    );
    write(&src.join("broken.jpg"), &orig[..orig.len() / 4]);
    write(&src.join("caption.txt"), "Пленный, 3 ноября".as_bytes());
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let enriched = events(&lines, "enriched")[0];
    assert_eq!(enriched["images"], 2, "{enriched}");
    assert_eq!(enriched["other"], 1, "{enriched}");
    // The broken JPEG fails analysis and preview (its metadata is still read: a report with
    // what could be found); the two photos get a thumbnail each.
    let failed = enriched["failed"].as_array().expect("failed");
    let jobs: Vec<(&str, &str)> = failed
        .iter()
        .map(|f| {
            (
                f["job"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        [("analysis", "corrupt"), ("preview", "corrupt")],
        "{enriched}"
    );
    assert_eq!(enriched["metadata"], 4, "{enriched}");
    assert_eq!(enriched["derivations"], 2, "{enriched}");

    // The broken file's bytes are kept and verify; its analysis names the error.
    let broken_sha = failed[0]["sha256"].as_str().expect("sha");
    let (_, shown) = s.vigil_json(&["show", broken_sha]);
    assert_eq!(shown[0]["analysis"]["kind"], "image");
    assert_eq!(shown[0]["analysis"]["error_code"], "corrupt");
    assert!(s.blob_path(broken_sha).is_file());
    assert!(s.vigil(&["verify"]).status.success());

    // The two versions of the photo have close stored hashes in the catalog.
    let hash_of = |name: &str| {
        let c = events(&lines, "committed")
            .into_iter()
            .find(|c| c["source"].as_str().unwrap_or("").ends_with(name))
            .expect("committed");
        let sha = c["items"][0]["sha256"].as_str().expect("sha").to_owned();
        let (_, shown) = s.vigil_json(&["show", &sha]);
        let pdq = &shown[0]["analysis"]["pdq"][0];
        assert_eq!(pdq["variant"], "stored");
        pdq["hash"].as_str().expect("hash").to_owned()
    };
    assert!(hamming(&hash_of("post-1.jpg"), &hash_of("post-2.jpg")) <= 31);

    // Nothing is analysed twice; thumbnails are not analysed as if they were evidence, and
    // failed jobs are retried only when asked.
    let (_, again) = s.vigil_json(&["enrich"]);
    assert_eq!(again[0]["images"], 0, "{}", again[0]);
    assert_eq!(again[0]["metadata"], 0, "{}", again[0]);
    assert_eq!(again[0]["failed"].as_array().map(Vec::len), Some(0));
    let (_, retried) = s.vigil_json(&["enrich", "--retry-failed"]);
    assert_eq!(
        retried[0]["failed"].as_array().map(Vec::len),
        Some(2),
        "both failed jobs run again, and fail again: {}",
        retried[0]
    );
}

fn vigil_phash_hex(v: &serde_json::Value) -> String {
    v.as_str().expect("hex").to_owned()
}

fn hamming(a: &str, b: &str) -> u32 {
    let a = hex_bytes(a);
    let b = hex_bytes(b);
    a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sample_videos() -> std::path::PathBuf {
    vigil_testdata::vectors().join("threatexchange/tmk/sample-videos")
}

#[test]
#[ignore = "needs the full upstream vectors: VIGIL_VECTORS=../shared/vectors (.ci/run)"]
fn captured_videos_get_vpdq_and_compare_by_footage() {
    let s = TestStore::new();
    let videos = sample_videos();
    let src = s.dir.path().join("channel");
    let clip = std::fs::read(videos.join("chair-20-sd-bar.mp4")).expect("read");
    write(&src.join("repost.mp4"), &clip);
    // A download cut short: the frames before the cut are still hashed.
    let faststart = std::fs::read(videos.join("pattern-sd-grey-bar.mp4")).expect("read");
    write(
        &src.join("partial.mp4"),
        &faststart[..faststart.len() * 3 / 10],
    );
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let enriched = events(&lines, "enriched")[0];
    let sha_of = |name: &str| {
        events(&lines, "committed")
            .into_iter()
            .find(|c| c["source"].as_str().unwrap_or("").ends_with(name))
            .expect("committed")["items"][0]["sha256"]
            .as_str()
            .expect("sha")
            .to_owned()
    };
    let (_, shown) = s.vigil_json(&["show", &sha_of("repost.mp4")]);
    let a = &shown[0]["analysis"];
    assert_eq!(
        (a["kind"].as_str(), a["format"].as_str()),
        (Some("video"), Some("mp4")),
        "{a}"
    );
    let frames = a["pdq"].as_array().expect("frames");
    assert_eq!(
        frames.len(),
        21,
        "one hash a second of a 20.4 s clip: {enriched}"
    );
    assert_eq!(frames[1]["frame"], 30);
    assert_eq!(frames[1]["timestamp"], 1.0);
    let (_, shown) = s.vigil_json(&["show", &sha_of("partial.mp4")]);
    let a = &shown[0]["analysis"];
    assert!(!a["pdq"].as_array().expect("frames").is_empty(), "{a}");
    assert!(s.vigil(&["verify"]).status.success());

    let compare = |a: &str, b: &str| {
        s.cmd()
            .arg("compare")
            .arg(videos.join(a))
            .arg(videos.join(b))
            .output()
            .expect("run")
    };
    let same = compare("chair-20-sd-bar.mp4", "chair-22-sd-grey-bar.mp4");
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    let other = compare("chair-20-sd-bar.mp4", "pattern-hd-no-bar.mp4");
    assert_eq!(other.status.code(), Some(1), "{}", text(&other.stdout));
}

/// `vigil hash … | head -1`: when the reader goes away the report ends quietly, as Unix tools
/// do, with no panic message.
#[test]
fn hash_output_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    let s = TestStore::new();
    let video = sample_videos().join("chair-19-sd-bar.mp4");
    let mut child = s
        .cmd()
        .args(["hash", "--every-frame"])
        // The second file's lines are printed after the reader has gone.
        .arg(&video)
        .arg(&video)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut first).expect("read");
    assert!(first.starts_with("# "), "{first}");
    let out = child.wait_with_output().expect("wait");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
}

/// `vigil inspect`: metadata, Content Credentials and flags from the real binary, and preview
/// files for a video; needs no store.
#[test]
fn inspect_reports_metadata_credentials_and_previews() {
    let s = TestStore::new();
    let c2pa = vigil_testdata::vectors().join("c2pa");
    let (out, lines) = s.vigil_json(&[
        "inspect",
        c2pa.join("CIE-sig-CA.jpg").to_str().unwrap_or_default(),
        pdq_data()
            .join("reg-test-input/exif-rotn/exif-rotn-6.jpg")
            .to_str()
            .unwrap_or_default(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(lines.len(), 2);
    let flags = |v: &serde_json::Value| -> Vec<String> {
        v["flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["code"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        flags(&lines[0]).contains(&"credentials-failed".to_string()),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0]["credentials"]["validation_state"], "Valid");
    assert_eq!(lines[1]["image"]["camera"], "samsung SM-G930V");
    assert_eq!(lines[1]["image"]["orientation"], 6);

    let previews = s.dir.path().join("previews");
    let video = sample_videos().join("chair-19-sd-bar.mp4");
    let out = s
        .cmd()
        .arg("inspect")
        .arg(&video)
        .arg("--preview")
        .arg(&previews)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("video (mp4)") && stdout.contains("h264"),
        "{stdout}"
    );
    let written: Vec<String> = std::fs::read_dir(&previews)
        .expect("previews written")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(
        written.iter().any(|n| n.ends_with(".thumbnail.jpg")),
        "{written:?}"
    );
    assert!(
        written.iter().any(|n| n.ends_with(".contact-sheet.jpg")),
        "{written:?}"
    );
    assert!(
        written.iter().any(|n| n.contains(".keyframe-")),
        "{written:?}"
    );

    // A file that is not there: an error for it, exit 1, no panic.
    let out = s
        .cmd()
        .args(["inspect", "/nonexistent/x.jpg"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains("panicked"));
}
