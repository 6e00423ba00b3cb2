//! What the platform said about a post: yt-dlp's `.info.json`, normalised.
//!
//! yt-dlp writes hundreds of fields that differ by site; an investigator needs a handful, the
//! same way for every platform: where it was posted, which post, by whom, when the platform
//! says it was posted (a claim, to be weighed against when we captured it), its title and text,
//! and how widely it was seen. The file itself is kept as captured; this is a reading of it.

use serde::Serialize;
use serde_json::Value;

use crate::MediaError;

/// Largest `.info.json` read (they are rarely over a few hundred KiB; comments can add more).
pub const MAX_INFO_JSON: usize = 32 << 20;

/// A post as the platform describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PostInfo {
    /// The site, as yt-dlp names it (`Youtube`, `Telegram`, `Twitter`, `Facebook`, …).
    pub platform: Option<String>,
    /// The post's id on the platform.
    pub post_id: Option<String>,
    /// The post's page.
    pub url: Option<String>,
    /// Who posted it (display name).
    pub uploader: Option<String>,
    /// The poster's id or handle on the platform.
    pub uploader_id: Option<String>,
    /// The poster's page.
    pub uploader_url: Option<String>,
    /// The channel, when the platform distinguishes it from the poster.
    pub channel: Option<String>,
    /// The channel's id.
    pub channel_id: Option<String>,
    /// When the platform says it was posted: RFC 3339 UTC from `timestamp` when given, else the
    /// day from `upload_date` (`YYYY-MM-DD`). A claim, not an observation.
    pub posted_at: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description or post text.
    pub description: Option<String>,
    /// Length of the media, seconds.
    pub duration_secs: Option<f64>,
    /// Views.
    pub views: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// Comments.
    pub comments: Option<u64>,
    /// Reposts (shares, retweets, forwards).
    pub reposts: Option<u64>,
}

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn count(v: &Value, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| {
        let n = v.get(*k)?;
        n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| f as u64)
        })
    })
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds as RFC 3339 UTC, for years 1970..=9999.
fn rfc3339(secs: f64) -> Option<String> {
    if !secs.is_finite() || !(0.0..253_402_300_800.0).contains(&secs) {
        return None;
    }
    let whole = secs.floor() as i64;
    let (y, m, d) = civil(whole.div_euclid(86_400));
    let t = whole.rem_euclid(86_400);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    ))
}

/// Reads a yt-dlp `.info.json`.
///
/// # Errors
///
/// [`MediaError::Corrupt`] when it is not a JSON object or is larger than [`MAX_INFO_JSON`].
pub fn post_info(json: &[u8]) -> Result<PostInfo, MediaError> {
    if json.len() > MAX_INFO_JSON {
        return Err(MediaError::Corrupt(format!(
            "info.json of {} bytes is larger than {MAX_INFO_JSON}",
            json.len()
        )));
    }
    let v: Value =
        serde_json::from_slice(json).map_err(|e| MediaError::Corrupt(format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(MediaError::Corrupt("info.json is not a JSON object".into()));
    }
    let posted_at = v
        .get("timestamp")
        .and_then(Value::as_f64)
        .and_then(rfc3339)
        .or_else(|| {
            let day = text(&v, &["upload_date"])?;
            let b = day.as_bytes();
            (b.len() == 8 && b.iter().all(u8::is_ascii_digit))
                .then(|| format!("{}-{}-{}", &day[0..4], &day[4..6], &day[6..8]))
        });
    Ok(PostInfo {
        platform: text(&v, &["extractor_key", "extractor", "ie_key"]),
        post_id: text(&v, &["id", "display_id"]),
        url: text(&v, &["webpage_url", "original_url", "url"]),
        uploader: text(&v, &["uploader", "creator", "channel"]),
        uploader_id: text(&v, &["uploader_id"]),
        uploader_url: text(&v, &["uploader_url", "channel_url"]),
        channel: text(&v, &["channel"]),
        channel_id: text(&v, &["channel_id"]),
        posted_at,
        title: text(&v, &["title", "fulltitle"]),
        description: text(&v, &["description"]),
        duration_secs: v
            .get("duration")
            .and_then(Value::as_f64)
            .filter(|d| d.is_finite()),
        views: count(&v, &["view_count"]),
        likes: count(&v, &["like_count"]),
        comments: count(&v, &["comment_count"]),
        reposts: count(&v, &["repost_count"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_telegram_post() {
        let json = br#"{"id": "1234", "extractor_key": "Telegram", "extractor": "telegram",
            "webpage_url": "https://t.me/some_channel/1234", "channel": "Some Channel",
            "channel_id": "some_channel", "timestamp": 1709290830, "upload_date": "20240301",
            "title": "Video", "description": "text of the post", "duration": 42.5,
            "view_count": 10500, "repost_count": 12.0}"#;
        let p = post_info(json).expect("parse");
        assert_eq!(p.platform.as_deref(), Some("Telegram"));
        assert_eq!(p.post_id.as_deref(), Some("1234"));
        assert_eq!(p.uploader.as_deref(), Some("Some Channel"));
        assert_eq!(p.posted_at.as_deref(), Some("2024-03-01T11:00:30Z"));
        assert_eq!(
            (p.views, p.reposts, p.likes),
            (Some(10_500), Some(12), None)
        );
        assert_eq!(p.duration_secs, Some(42.5));
    }

    #[test]
    fn day_only_and_hostile_input() {
        let p = post_info(br#"{"upload_date": "20231231", "uploader": " x "}"#).expect("parse");
        assert_eq!(p.posted_at.as_deref(), Some("2023-12-31"));
        assert_eq!(p.uploader.as_deref(), Some("x"));
        let p = post_info(br#"{"timestamp": -5, "upload_date": "2023"}"#).expect("parse");
        assert_eq!(p.posted_at, None);
        for bad in [&b"[1,2]"[..], b"", b"{", b"\xff\xfe", b"null"] {
            assert!(post_info(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(post_info(deep.as_bytes()).is_err());
        assert_eq!(rfc3339(0.0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(951_782_400.0).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(rfc3339(f64::NAN), None);
    }
}
