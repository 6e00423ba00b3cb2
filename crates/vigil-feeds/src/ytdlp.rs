//! yt-dlp's listing of a channel or playlist: `--flat-playlist --dump-single-json` (one object
//! with `entries`) or `--flat-playlist --dump-json` (one object per line, one per entry).

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::util::{
    MediaList, absolute_http, check_size, finish_text, join_parts, one_line, rfc3339_utc,
};
use crate::{FeedError, FeedPage, MAX_FIELD_BYTES, MAX_POSTS_PER_PAGE, MediaRefKind, Post};

/// The fields we read of a yt-dlp info dict (a playlist or an entry); the rest is ignored.
/// Scalars are read as JSON values, since extractors differ in what they put there.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Info {
    #[serde(rename = "_type")]
    kind: Value,
    id: Value,
    ie_key: Value,
    url: Value,
    webpage_url: Value,
    original_url: Value,
    title: Value,
    description: Value,
    timestamp: Value,
    release_timestamp: Value,
    upload_date: Value,
    release_date: Value,
    uploader: Value,
    channel: Value,
    creator: Value,
    playlist_title: Value,
    playlist: Value,
    playlist_uploader: Value,
    playlist_channel: Value,
    thumbnail: Value,
    thumbnails: Value,
    entries: Option<Vec<Option<Info>>>,
}

/// A top-level document: a JSON object only (serde would also take an array for a struct).
struct Object(Info);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Object, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a yt-dlp JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object, A::Error> {
                Info::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A string or number field as text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => one_line(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// How deep nested playlists are followed (a channel's tabs hold playlists of videos).
const MAX_PLAYLIST_DEPTH: usize = 4;

/// Parses yt-dlp's flat listing of a channel or playlist: the single JSON object of
/// `yt-dlp --flat-playlist --dump-single-json URL`, or the one-object-per-line output of
/// `yt-dlp --flat-playlist --dump-json URL`.
///
/// Each entry becomes a post: its id, its page (`webpage_url`, else `url`; for YouTube built
/// from the id when yt-dlp gave none), title and description as text, `timestamp` (else
/// `upload_date`, as midnight UTC) as the time, uploader or channel (else the playlist's) as
/// author, and the largest thumbnail as media. Entries without an id or page are skipped, as
/// are `null` entries (yt-dlp's unavailable videos); nested playlists are flattened.
/// The order is yt-dlp's (for a channel: newest first).
pub fn parse_ytdlp_playlist(json: &[u8]) -> Result<FeedPage, FeedError> {
    check_size(json)?;
    let mut docs = Vec::new();
    for doc in serde_json::Deserializer::from_slice(json).into_iter::<Object>() {
        let Object(doc) = doc.map_err(|e| FeedError::Json(e.to_string()))?;
        if docs.len() >= MAX_POSTS_PER_PAGE {
            break;
        }
        docs.push(doc);
    }
    if docs.is_empty() {
        return Err(FeedError::Json("no JSON object".into()));
    }
    if docs.iter().all(|d| d.entries.is_none() && d.id.is_null()) {
        return Err(FeedError::Json(
            "neither entries nor an id: not yt-dlp output".into(),
        ));
    }
    let mut posts = Vec::new();
    let title;
    if let [single] = docs.as_slice()
        && (single.entries.is_some() || single.kind.as_str() == Some("playlist"))
    {
        title = text(&single.title);
        let author = text(&single.uploader).or_else(|| text(&single.channel));
        collect(single, author.as_deref(), 0, &mut posts);
    } else {
        let first = docs.first();
        title = first.and_then(|d| text(&d.playlist_title).or_else(|| text(&d.playlist)));
        for doc in &docs {
            let author = text(&doc.playlist_uploader).or_else(|| text(&doc.playlist_channel));
            if doc.entries.is_some() {
                collect(doc, author.as_deref(), 0, &mut posts);
            } else if posts.len() < MAX_POSTS_PER_PAGE
                && let Some(post) = entry_post(doc, author.as_deref())
            {
                posts.push(post);
            }
        }
    }
    Ok(FeedPage {
        title,
        posts,
        older: None,
    })
}

fn collect(playlist: &Info, author: Option<&str>, depth: usize, posts: &mut Vec<Post>) {
    let Some(entries) = &playlist.entries else {
        return;
    };
    for entry in entries.iter().flatten() {
        if posts.len() >= MAX_POSTS_PER_PAGE {
            return;
        }
        if entry.entries.is_some() {
            if depth < MAX_PLAYLIST_DEPTH {
                let inner = text(&entry.uploader)
                    .or_else(|| text(&entry.channel))
                    .or_else(|| author.map(str::to_owned));
                collect(entry, inner.as_deref(), depth + 1, posts);
            }
        } else if let Some(post) = entry_post(entry, author) {
            posts.push(post);
        }
    }
}

fn entry_post(entry: &Info, fallback_author: Option<&str>) -> Option<Post> {
    let id = text(&entry.id)?;
    if id.len() > MAX_FIELD_BYTES {
        return None;
    }
    let page = [&entry.webpage_url, &entry.url, &entry.original_url]
        .into_iter()
        .find_map(|v| v.as_str().and_then(absolute_http))
        .or_else(|| {
            let youtube = entry.ie_key.as_str() == Some("Youtube");
            let plain_id = id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            (youtube && plain_id)
                .then(|| absolute_http(&format!("https://www.youtube.com/watch?v={id}")))
                .flatten()
        })?;
    let title = text(&entry.title);
    let description = entry.description.as_str().unwrap_or("");
    let body = join_parts([title.as_deref().unwrap_or(""), description]);
    let published_at = [&entry.timestamp, &entry.release_timestamp]
        .into_iter()
        .find_map(unix_time)
        .or_else(|| {
            [&entry.upload_date, &entry.release_date]
                .into_iter()
                .find_map(day)
        });
    let author = text(&entry.uploader)
        .or_else(|| text(&entry.channel))
        .or_else(|| text(&entry.creator))
        .or_else(|| fallback_author.map(str::to_owned));
    let mut media = MediaList::default();
    // yt-dlp orders thumbnails from worst to best.
    let thumbnail = entry
        .thumbnails
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find_map(|t| t.get("url").and_then(Value::as_str).and_then(absolute_http))
        .or_else(|| entry.thumbnail.as_str().and_then(absolute_http));
    if let Some(thumbnail) = thumbnail {
        media.push(thumbnail, MediaRefKind::Image);
    }
    Some(Post {
        id,
        url: page.into(),
        author,
        published_at,
        text: finish_text(body, false),
        media: media.into_vec(),
    })
}

fn unix_time(v: &Value) -> Option<String> {
    let seconds = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e12)
                .map(|f| f.trunc() as i64)
        })?,
        _ => return None,
    };
    rfc3339_utc(OffsetDateTime::from_unix_timestamp(seconds).ok()?)
}

/// `YYYYMMDD`, as midnight UTC of that day.
fn day(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let date = Date::parse(s, format_description!("[year][month][day]")).ok()?;
    rfc3339_utc(date.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            unix_time(&serde_json::json!(1709296496)).as_deref(),
            Some("2024-03-01T12:34:56Z")
        );
        assert_eq!(
            unix_time(&serde_json::json!(1709296496.7)).as_deref(),
            Some("2024-03-01T12:34:56Z")
        );
        assert_eq!(unix_time(&serde_json::json!(1e300)), None);
        assert_eq!(unix_time(&serde_json::json!("1709296496")), None);
        assert_eq!(
            day(&serde_json::json!("20240301")).as_deref(),
            Some("2024-03-01T00:00:00Z")
        );
        assert_eq!(day(&serde_json::json!("20241301")), None);
        assert_eq!(day(&serde_json::json!("2024031")), None);
    }

    #[test]
    fn nulls_and_odd_types_do_not_fail() {
        let page = parse_ytdlp_playlist(
            br#"{"_type":"playlist","title":7,"entries":[null,{"id":123,"url":"https://x.org/v/123","title":null,"timestamp":"soon"},{"id":"noid-page"}]}"#,
        )
        .unwrap();
        assert_eq!(page.title.as_deref(), Some("7"));
        assert_eq!(page.posts.len(), 1);
        assert_eq!(page.posts[0].id, "123");
        assert_eq!(page.posts[0].published_at, None);
    }
}
