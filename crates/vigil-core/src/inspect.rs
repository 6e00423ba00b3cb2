//! `vigil inspect`: everything a file says about itself, and what an investigator should look
//! at twice.
//!
//! The real type from the bytes beside what its name claimed; image metadata (EXIF, XMP, IPTC)
//! or container and stream metadata; Content Credentials; for a yt-dlp `.info.json`, the post
//! as the platform describes it; and flags: GPS present, editing software named, metadata
//! stripped (as platforms do on re-upload), a type that does not match its name, Content
//! Credentials whose checks failed. Each part that fails records its error and the others go
//! on: a hostile file yields a report, never a crash.

use std::io::{BufReader, Read};
use std::path::Path;

use serde::Serialize;
use vigil_media::{
    ContentCredentials, ImageMetadata, MediaKind, MediaProbe, PostInfo, SNIFF_LEN, claimed_kind,
    content_credentials, kind_mismatch, post_info, probe, read_image_metadata, sniff,
};

use vigil_store::CaptureContext;

use crate::CoreError;

/// Most bytes of an image read for its metadata (a JPEG's metadata segments are read alone;
/// PNG and WebP may keep theirs after the pixels).
const IMAGE_METADATA_BYTES: u64 = 64 << 20;

/// What a file says about itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InspectReport {
    /// Size in bytes.
    pub size: u64,
    /// What the bytes are.
    pub sniffed: Option<MediaKind>,
    /// What the name said it was (the first name that says anything).
    pub claimed: Option<MediaKind>,
    /// The names the file was given (its own name, or those its sources gave it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The `Content-Type`s servers sent with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub content_types: Vec<String>,
    /// EXIF, XMP and IPTC, for images.
    pub image: Option<ImageMetadata>,
    /// Container and streams, for video and audio.
    pub container: Option<MediaProbe>,
    /// The post as the platform describes it, for a yt-dlp `.info.json`.
    pub post: Option<PostInfo>,
    /// Content Credentials (C2PA), when the file carries them.
    pub credentials: Option<ContentCredentials>,
    /// What deserves a second look (stable codes, see [`Flag`]).
    pub flags: Vec<Flag>,
    /// Parts that could not be read: (part, error).
    pub errors: Vec<(String, String)>,
}

/// Something about a file worth an investigator's attention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// Stable code: `type-mismatch`, `gps-present`, `editing-software`, `metadata-stripped`,
    /// `created-after-capture`, `credentials-failed`, `credentials-present`.
    pub code: &'static str,
    /// What was seen, for a person.
    pub detail: String,
}

/// Names of editors and re-encoders that, found in `Software`, `CreatorTool`, the XMP history
/// or a container's `encoder`, say that the file is not straight from a camera.
const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "canva",
    "affinity",
    "pixelmator",
    "facetune",
    "capcut",
    "inshot",
    "kinemaster",
    "premiere",
    "after effects",
    "final cut",
    "davinci",
    "imovie",
    "vn video editor",
    "filmora",
    "movavi",
    "handbrake",
];

fn editor_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    EDITORS.iter().copied().find(|e| lower.contains(e))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CoreError + '_ {
    move |source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Inspects the file at `path`, judging its type against its own name.
pub fn inspect_file(path: &Path) -> Result<InspectReport, CoreError> {
    let names: Vec<String> = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .into_iter()
        .collect();
    let context = CaptureContext {
        names,
        ..Default::default()
    };
    inspect_path(path, &context)
}

/// Inspects the file at `path`, judging its type against each name and `Content-Type` its
/// captures recorded and, when its first capture time is known, flagging creation times
/// later than that.
pub fn inspect_path(path: &Path, context: &CaptureContext) -> Result<InspectReport, CoreError> {
    let names = &context.names;
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if !meta.is_file() {
        return Err(CoreError::Usage(format!(
            "{} is not a file",
            path.display()
        )));
    }
    let mut report = InspectReport {
        size: meta.len(),
        names: names.to_vec(),
        ..Default::default()
    };
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(io(path))?;
    let sniffed = sniff(&head);
    report.sniffed = Some(sniffed);
    report.content_types = context.content_types.clone();
    let claims = names
        .iter()
        .map(|n| ("named", n, claimed_kind(Some(n), None)))
        .chain(
            context
                .content_types
                .iter()
                .map(|t| ("served as", t, claimed_kind(None, Some(t)))),
        );
    for (how, what, claimed) in claims {
        let Some(claimed) = claimed else {
            continue;
        };
        report.claimed.get_or_insert(claimed);
        if kind_mismatch(sniffed, claimed) {
            report.flags.push(Flag {
                code: "type-mismatch",
                detail: format!("{how} {what:?} ({claimed:?}), the bytes are {sniffed:?}"),
            });
        }
    }
    let json_named = names.iter().any(|n| n.ends_with(".json"));
    let looks_like_json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');

    match sniffed {
        MediaKind::Image(format) => {
            let m = std::fs::File::open(path)
                .and_then(|f| read_image_metadata(BufReader::new(f), IMAGE_METADATA_BYTES))
                .map_err(io(path))?;
            if let Some(e) = &m.exif_error {
                report.errors.push(("exif".into(), e.clone()));
            }
            report.image = Some(m);
            read_credentials(path, &format!("image/{format}"), &mut report)?;
        }
        MediaKind::Video(format) | MediaKind::Audio(format) => {
            match probe(path) {
                Ok(p) => report.container = Some(p),
                Err(e) => report.errors.push(("container".into(), e.to_string())),
            }
            let mime = match format {
                "mov" => "video/quicktime".to_string(),
                "m4a" => "audio/mp4".to_string(),
                f => format!("video/{f}"),
            };
            read_credentials(path, &mime, &mut report)?;
        }
        // A yt-dlp `.info.json` (by name, or any JSON object: sources rename files).
        MediaKind::Other if (json_named || looks_like_json) => {
            if report.size > vigil_media::MAX_INFO_JSON as u64 {
                if json_named {
                    report.errors.push((
                        "post".into(),
                        format!("{} bytes is larger than a post description", report.size),
                    ));
                }
            } else {
                match post_info(&std::fs::read(path).map_err(io(path))?) {
                    Ok(p) => report.post = Some(p),
                    Err(e) if json_named => report.errors.push(("post".into(), e.to_string())),
                    Err(_) => {}
                }
            }
        }
        MediaKind::Other => {}
    }
    flag(&mut report);
    if let Some(captured) = &context.first_captured_at {
        created_after_capture(&mut report, captured);
    }
    Ok(report)
}

/// Slack for times without a UTC offset: local time somewhere between UTC−12 and UTC+14.
const UNKNOWN_ZONE_SLACK: time::Duration = time::Duration::hours(14);

/// A creation time from file metadata as an instant, and whether its zone was known.
fn metadata_time(text: &str) -> Option<(time::OffsetDateTime, bool)> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some((t, true));
    }
    // `2017-11-07T22:14:06` (EXIF without OffsetTime, XMP, QuickTime local times).
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let head = text.get(..19)?.replace(' ', "T");
    time::PrimitiveDateTime::parse(&head, &fmt)
        .ok()
        .map(|t| (t.assume_utc(), false))
}

/// Flags creation times (EXIF `DateTimeOriginal`, XMP `CreateDate`, a container's
/// `creation_time`) later than the first capture: a wrong camera clock, or metadata written
/// after the file was collected — either way an investigator must know.
fn created_after_capture(report: &mut InspectReport, first_captured_at: &str) {
    use time::format_description::well_known::Rfc3339;
    let Ok(captured) = time::OffsetDateTime::parse(first_captured_at, &Rfc3339) else {
        return;
    };
    let mut claims: Vec<(&str, String)> = Vec::new();
    if let Some(m) = &report.image {
        claims.extend(
            m.taken_at
                .iter()
                .map(|t| ("EXIF DateTimeOriginal", t.clone())),
        );
        if let Some(x) = &m.xmp {
            claims.extend(x.create_date.iter().map(|t| ("XMP CreateDate", t.clone())));
        }
    }
    if let Some(p) = &report.container {
        claims.extend(
            p.creation_time()
                .map(|t| ("container creation_time", t.to_owned())),
        );
    }
    for (what, text) in claims {
        let Some((created, zoned)) = metadata_time(&text) else {
            continue;
        };
        let slack = if zoned {
            time::Duration::ZERO
        } else {
            UNKNOWN_ZONE_SLACK
        };
        if created > captured + slack {
            report.flags.push(Flag {
                code: "created-after-capture",
                detail: format!(
                    "{what} {text} is later than the first capture, {first_captured_at}{}",
                    if zoned {
                        ""
                    } else {
                        " (even allowing for any time zone)"
                    }
                ),
            });
            return;
        }
    }
}

fn read_credentials(path: &Path, mime: &str, report: &mut InspectReport) -> Result<(), CoreError> {
    let file = BufReader::new(std::fs::File::open(path).map_err(io(path))?);
    report.credentials = content_credentials(mime, file);
    Ok(())
}

/// The flags that follow from what was read.
fn flag(report: &mut InspectReport) {
    let mut flags = Vec::new();
    if let Some(m) = &report.image {
        if let Some(gps) = &m.gps {
            flags.push(Flag {
                code: "gps-present",
                detail: format!("{:.5}, {:.5}", gps.latitude, gps.longitude),
            });
        }
        let mut named: Vec<String> = m.software.iter().cloned().collect();
        if let Some(x) = &m.xmp {
            named.extend(x.creator_tool.iter().cloned());
            named.extend(x.history_agents.iter().cloned());
        }
        if let Some(tool) = named.iter().find(|t| editor_in(t).is_some()) {
            flags.push(Flag {
                code: "editing-software",
                detail: tool.clone(),
            });
        }
        if m.exif.is_empty() && m.xmp.is_none() && m.iptc.is_empty() && report.credentials.is_none()
        {
            flags.push(Flag {
                code: "metadata-stripped",
                detail: "no EXIF, XMP or IPTC at all (platforms strip them on upload)".into(),
            });
        }
    }
    if let Some(p) = &report.container {
        if let Some(location) = p.location() {
            flags.push(Flag {
                code: "gps-present",
                detail: location.to_string(),
            });
        }
        let mut named: Vec<&str> = p.encoder().into_iter().collect();
        named.extend(p.handler_names());
        if let Some(tool) = named.iter().find(|t| editor_in(t).is_some()) {
            flags.push(Flag {
                code: "editing-software",
                detail: tool.to_string(),
            });
        }
        if p.creation_time().is_none()
            && p.location().is_none()
            && p.encoder().is_none()
            && report.credentials.is_none()
        {
            flags.push(Flag {
                code: "metadata-stripped",
                detail: "no creation time, location or encoder tag".into(),
            });
        }
    }
    if let Some(c) = &report.credentials {
        let failed: Vec<&str> = c
            .status
            .iter()
            .map(|s| s.code.as_str())
            .filter(|code| *code != "signingCredential.untrusted")
            .collect();
        if c.error.is_some() || !failed.is_empty() {
            flags.push(Flag {
                code: "credentials-failed",
                detail: c.error.clone().unwrap_or_else(|| failed.join(", ")),
            });
        } else {
            flags.push(Flag {
                code: "credentials-present",
                detail: c
                    .manifests
                    .first()
                    .and_then(|m| m.claim_generator.clone())
                    .unwrap_or_else(|| "a manifest".into()),
            });
        }
    }
    report.flags.extend(flags);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> String {
        format!("{}/", vigil_testdata::vectors().display())
    }

    fn codes(r: &InspectReport) -> Vec<&str> {
        r.flags.iter().map(|f| f.code).collect()
    }

    #[test]
    fn photo_video_credentials_and_a_mislabelled_file() {
        let photo = inspect_file(
            format!(
                "{}threatexchange/pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg",
                vectors()
            )
            .as_ref(),
        )
        .expect("inspect");
        assert_eq!(photo.sniffed, Some(MediaKind::Image("jpeg")));
        assert!(photo.image.as_ref().is_some_and(|m| m.camera.is_some()));
        assert!(!codes(&photo).contains(&"metadata-stripped"));

        let video = inspect_file(
            format!(
                "{}threatexchange/tmk/sample-videos/chair-19-sd-bar.mp4",
                vectors()
            )
            .as_ref(),
        )
        .expect("inspect");
        assert!(
            video
                .container
                .as_ref()
                .is_some_and(|p| p.video().is_some())
        );

        let signed =
            inspect_file(format!("{}c2pa/CIE-sig-CA.jpg", vectors()).as_ref()).expect("ok");
        assert!(
            codes(&signed).contains(&"credentials-failed"),
            "{:?}",
            signed.flags
        );
        let valid = inspect_file(format!("{}c2pa/C.jpg", vectors()).as_ref()).expect("ok");
        assert!(
            codes(&valid).contains(&"credentials-present"),
            "{:?}",
            valid.flags
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let fake = dir.path().join("holiday.jpg");
        std::fs::copy(
            format!(
                "{}threatexchange/tmk/sample-videos/test-padded-dimensions.mp4",
                vectors()
            ),
            &fake,
        )
        .expect("copy");
        let r = inspect_file(&fake).expect("inspect");
        assert!(codes(&r).contains(&"type-mismatch"), "{:?}", r.flags);

        // A photo a server sent as a web page, first captured before its EXIF says it was
        // taken: both flagged.
        let served = inspect_path(
            format!(
                "{}threatexchange/pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg",
                vectors()
            )
            .as_ref(),
            &CaptureContext {
                names: vec!["photo.jpg".into()],
                content_types: vec!["text/html; charset=utf-8".into()],
                first_captured_at: Some("2001-01-01T00:00:00.000000Z".into()),
            },
        )
        .expect("inspect");
        let mismatch: Vec<&str> = served
            .flags
            .iter()
            .filter(|f| f.code == "type-mismatch")
            .map(|f| f.detail.as_str())
            .collect();
        assert_eq!(mismatch.len(), 1, "{:?}", served.flags);
        assert!(
            mismatch[0].starts_with("served as \"text/html"),
            "{mismatch:?}"
        );
        assert!(
            codes(&served).contains(&"created-after-capture"),
            "{:?}",
            served.flags
        );

        let info = dir.path().join("post.info.json");
        std::fs::write(&info, br#"{"extractor_key": "Telegram", "id": "7"}"#).expect("write");
        let r = inspect_file(&info).expect("inspect");
        assert_eq!(r.post.and_then(|p| p.platform).as_deref(), Some("Telegram"));

        let junk = dir.path().join("junk.mp4");
        std::fs::write(&junk, b"\0\0\0\x18ftypisom garbage").expect("write");
        let r = inspect_file(&junk).expect("a report, not a crash");
        assert!(!r.errors.is_empty());
    }
}
