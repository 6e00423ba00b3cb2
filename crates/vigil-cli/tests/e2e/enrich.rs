//! The enrichment jobs from the real binary: metadata with flags, previews stored as derived
//! items and logged as derivations, `vigil inspect ITEM`, and a time limit that stops a job
//! without losing anything.

use crate::support::*;

fn vectors() -> std::path::PathBuf {
    vigil_testdata::vectors()
}

#[test]
fn a_video_gets_logged_previews_and_inspect_item_shows_them() {
    let s = TestStore::new();
    let src = s.dir.path().join("channel");
    let video = vectors().join("threatexchange/tmk/sample-videos/chair-19-sd-bar.mp4");
    write(&src.join("post.mp4"), &std::fs::read(&video).expect("read"));
    // A photo renamed as a video, as reposts sometimes are.
    let photo = vectors().join("threatexchange/pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg");
    write(&src.join("clip.mp4"), &std::fs::read(&photo).expect("read"));
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let enriched = events(&lines, "enriched")[0];
    assert_eq!(enriched["metadata"], 2, "{enriched}");
    assert_eq!(enriched["derivations"], 2, "{enriched}");
    assert_eq!(enriched["failed"].as_array().map(Vec::len), Some(0));
    let sha_of = |name: &str| {
        events(&lines, "committed")
            .into_iter()
            .find(|c| c["source"].as_str().unwrap_or("").ends_with(name))
            .and_then(|c| c["items"][0]["sha256"].as_str())
            .expect("committed")
            .to_owned()
    };
    let video_sha = sha_of("post.mp4");
    let photo_sha = sha_of("clip.mp4");

    // `inspect ITEM`: the container, every job ok, and the derivation with its pictures.
    let (out, shown) = s.vigil_json(&["inspect", &video_sha[..12]]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = &shown[0];
    assert!(report["container"]["streams"].is_array(), "{report}");
    assert_eq!(report["item"]["sha256"], video_sha.as_str());
    let jobs: Vec<(&str, bool)> = report["item"]["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| (j["job"].as_str().unwrap_or(""), j["ok"] == true))
        .collect();
    assert_eq!(
        jobs,
        [("analysis", true), ("metadata", true), ("preview", true)]
    );
    let derivation = &report["item"]["derivations"][0];
    assert_eq!(derivation["tool"], "vigil-media/video_preview");
    assert!(derivation["leaf_index"].is_u64(), "{derivation}");
    let roles: Vec<&str> = derivation["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles.first(), Some(&"thumbnail"), "{roles:?}");
    assert_eq!(roles.last(), Some(&"contact-sheet"), "{roles:?}");
    assert!(roles.contains(&"keyframe"), "{roles:?}");

    // A derived item says what it was made from, and is not itself enriched.
    let thumb = derivation["items"][0]["sha256"].as_str().expect("thumb");
    let (_, shown) = s.vigil_json(&["inspect", thumb]);
    assert_eq!(shown[0]["item"]["derived_from"][0][1], video_sha.as_str());
    assert_eq!(shown[0]["item"]["jobs"].as_array().map(Vec::len), Some(0));
    assert!(s.blob_path(thumb).is_file());

    // The renamed photo is flagged; its stored flags are in the catalog too.
    let (_, shown) = s.vigil_json(&["inspect", &photo_sha]);
    let codes: Vec<&str> = shown[0]["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or(""))
        .collect();
    assert!(codes.contains(&"type-mismatch"), "{codes:?}");

    // --preview copies the stored pictures out, under the item's short id.
    let out_dir = s.dir.path().join("previews");
    let out = s
        .cmd()
        .args(["inspect", &video_sha, "--preview"])
        .arg(&out_dir)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("derivation #"), "{stdout}");
    let copied = out_dir.join(format!("{}.contact-sheet.jpg", &video_sha[..12]));
    assert!(copied.is_file(), "{stdout}");

    // The log holds four leaves (two captures, two derivations) and verifies; a derivation
    // changed in the catalog is named by verification.
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    // `capture` signed a checkpoint over the derivations it logged.
    let published = std::fs::read_to_string(s.store().join("log/checkpoint")).expect("checkpoint");
    assert_eq!(published.lines().nth(1), Some("4"), "{published}");
    s.sql("UPDATE derivation_items SET name = 'other.jpg' WHERE position = 0");
    let found = s.log_problems();
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("derivation #") && p.contains("differ from the record")),
        "{found:?}"
    );
}

#[test]
fn a_creation_time_after_capture_is_flagged() {
    let s = TestStore::new();
    let src = s.dir.path().join("in");
    let photo = vectors().join("threatexchange/pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg");
    let file = src.join("photo.jpg");
    write(&file, &std::fs::read(&photo).expect("read"));
    // exiftool writes a taken time far in the future, with its offset.
    let ok = std::process::Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-DateTimeOriginal=2099:01:02 03:04:05",
            "-OffsetTimeOriginal=+04:00",
        ])
        .arg(&file)
        .status()
        .expect("exiftool (Debian libimage-exiftool-perl)");
    assert!(ok.success());
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(events(&lines, "enriched")[0]["flagged"], 1);
    let sha = events(&lines, "committed")[0]["items"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let (_, shown) = s.vigil_json(&["inspect", &sha]);
    let flag = shown[0]["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["code"] == "created-after-capture")
        .cloned();
    let detail = flag.expect("flagged")["detail"].to_string();
    assert!(detail.contains("2099-01-02T03:04:05+04:00"), "{detail}");
    // The same file given as a file has no capture to compare with.
    let (_, as_file) = s.vigil_json(&["inspect", &file.to_string_lossy()]);
    assert!(
        !as_file[0]["flags"]
            .to_string()
            .contains("created-after-capture"),
        "{}",
        as_file[0]
    );
}

#[test]
fn a_job_out_of_time_is_recorded_and_the_item_kept() {
    let s = TestStore::new();
    let src = s.dir.path().join("in");
    let video = vectors().join("threatexchange/tmk/sample-videos/pattern-sd-grey-bar.mp4");
    write(&src.join("post.mp4"), &std::fs::read(&video).expect("read"));
    let (out, lines) = s.vigil_json(&["capture", "--no-enrich", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(events(&lines, "enriched").is_empty(), "{lines:?}");
    let sha = events(&lines, "committed")[0]["items"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();

    // No time at all: the video jobs stop at their first check and say so.
    let (out, ran) = s.vigil_json(&["enrich", "--job-time-limit", "0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut failed: Vec<(String, String)> = ran[0]["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| (f["job"].to_string(), f["code"].to_string()))
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            ("\"analysis\"".to_string(), "\"timeout\"".to_string()),
            ("\"preview\"".to_string(), "\"timeout\"".to_string())
        ],
        "{}",
        ran[0]
    );
    assert_eq!(
        ran[0]["metadata"], 1,
        "metadata needs no decoding: {}",
        ran[0]
    );
    assert!(s.blob_path(&sha).is_file());
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));

    // Given time, the failed jobs run again and succeed.
    let (_, retried) = s.vigil_json(&["enrich", "--retry-failed"]);
    assert_eq!(retried[0]["videos"], 1, "{}", retried[0]);
    assert_eq!(retried[0]["derivations"], 1, "{}", retried[0]);
    assert_eq!(retried[0]["failed"].as_array().map(Vec::len), Some(0));

    // As if killed after logging the derivation, before recording the job: the next run
    // records the job and does not derive (and log) the same pictures twice.
    s.sql("DELETE FROM enrichment_jobs WHERE job = 'preview'");
    let (_, again) = s.vigil_json(&["enrich"]);
    assert_eq!(again[0]["derivations"], 0, "{}", again[0]);
    let (_, shown) = s.vigil_json(&["inspect", &sha]);
    assert_eq!(
        shown[0]["item"]["derivations"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(
        shown[0]["item"]["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .any(|j| j["job"] == "preview" && j["ok"] == true)
    );
}
