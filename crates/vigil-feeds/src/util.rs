//! Small helpers shared by the parsers: limits, URLs, dates, media kinds.

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use url::Url;

use crate::{
    FeedError, MAX_FIELD_BYTES, MAX_INPUT_BYTES, MAX_MEDIA_PER_POST, MAX_TEXT_BYTES, MediaRef,
    MediaRefKind, TEXT_TRUNCATED_MARK,
};

/// Refuses inputs over [`MAX_INPUT_BYTES`].
pub(crate) fn check_size(input: &[u8]) -> Result<(), FeedError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(FeedError::TooLarge {
            size: input.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Cuts `text` to [`MAX_TEXT_BYTES`] (marking the cut) and turns an empty text into `None`.
pub(crate) fn finish_text(text: String, truncated: bool) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.len() <= MAX_TEXT_BYTES && !truncated {
        return Some(trimmed.to_owned());
    }
    let mut out = clip(
        trimmed,
        MAX_TEXT_BYTES.saturating_sub(TEXT_TRUNCATED_MARK.len()),
    )
    .trim_end()
    .to_owned();
    out.push_str(TEXT_TRUNCATED_MARK);
    Some(out)
}

/// Joins non-empty parts of a post's text with a blank line between them; a part that repeats
/// the one before (a description that is the title) is left out.
pub(crate) fn join_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut last = "";
    for part in parts {
        let part = part.trim();
        if part.is_empty() || part == last {
            continue;
        }
        last = part;
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        // Bounded: the parts are already bounded, and finish_text cuts the sum.
        if out.len() <= MAX_TEXT_BYTES * 2 {
            out.push_str(clip(part, MAX_TEXT_BYTES * 2));
        }
    }
    out
}

/// A one-line field (author, title): whitespace collapsed, cut to [`MAX_FIELD_BYTES`], `None`
/// when empty.
pub(crate) fn one_line(s: &str) -> Option<String> {
    let mut out = String::new();
    for word in s.split_whitespace() {
        if out.len() + word.len() + 1 > MAX_FIELD_BYTES {
            let room = MAX_FIELD_BYTES.saturating_sub(out.len() + 1);
            if room > 0 {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(clip(word, room));
            }
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

/// `href` resolved against `base`, if the result is an `http(s)` URL of at most
/// [`MAX_FIELD_BYTES`].
pub(crate) fn resolve_http(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.len() > MAX_FIELD_BYTES {
        return None;
    }
    let url = base.join(href).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.as_str().len() <= MAX_FIELD_BYTES)
        .then_some(url)
}

/// `href` as an absolute `http(s)` URL, without a base.
pub(crate) fn absolute_http(href: &str) -> Option<Url> {
    let href = href.trim();
    if href.len() > MAX_FIELD_BYTES {
        return None;
    }
    let url = Url::parse(href).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.as_str().len() <= MAX_FIELD_BYTES)
        .then_some(url)
}

/// A link to older posts, kept only when it stays on the host of the page it came from.
pub(crate) fn same_host(base: &Url, candidate: Url) -> Option<Url> {
    (candidate.host_str() == base.host_str() && matches!(candidate.scheme(), "http" | "https"))
        .then_some(candidate)
}

/// The media of one post: each URL once, at most [`MAX_MEDIA_PER_POST`].
#[derive(Default)]
pub(crate) struct MediaList(Vec<MediaRef>);

impl MediaList {
    pub(crate) fn push(&mut self, url: Url, kind: MediaRefKind) {
        if self.0.len() >= MAX_MEDIA_PER_POST {
            return;
        }
        let url = String::from(url);
        if self.0.iter().any(|m| m.url == url) {
            return;
        }
        self.0.push(MediaRef { url, kind });
    }

    pub(crate) fn first_url(&self) -> Option<&str> {
        self.0.first().map(|m| m.url.as_str())
    }

    pub(crate) fn into_vec(self) -> Vec<MediaRef> {
        self.0
    }
}

/// What a media URL points at, from a MIME type, an RSS `medium`, or the file extension.
pub(crate) fn media_kind(mime: Option<&str>, medium: Option<&str>, url: &str) -> MediaRefKind {
    match medium.map(str::trim) {
        Some(m) if m.eq_ignore_ascii_case("image") => return MediaRefKind::Image,
        Some(m) if m.eq_ignore_ascii_case("video") => return MediaRefKind::Video,
        Some(m) if !m.is_empty() => return MediaRefKind::Other,
        _ => {}
    }
    if let Some(mime) = mime.map(str::trim).filter(|m| !m.is_empty()) {
        let mime = mime.to_ascii_lowercase();
        return if mime.starts_with("image/") {
            MediaRefKind::Image
        } else if mime.starts_with("video/") {
            MediaRefKind::Video
        } else {
            MediaRefKind::Other
        };
    }
    let path = Url::parse(url)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match ext {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "avif" | "heic" | "bmp" => MediaRefKind::Image,
        "mp4" | "m4v" | "mov" | "webm" | "mkv" | "avi" | "m3u8" | "ts" => MediaRefKind::Video,
        _ => MediaRefKind::Other,
    }
}

/// A time as RFC 3339 in UTC, e.g. `2024-03-01T12:34:56Z`.
pub(crate) fn rfc3339_utc(time: OffsetDateTime) -> Option<String> {
    time.to_offset(UtcOffset::UTC).format(&Rfc3339).ok()
}

/// A date as a feed might write it (RFC 3339, RFC 2822 with the usual deviations, ISO 8601),
/// as RFC 3339 in UTC. `None` when it cannot be read or has no time zone: a guessed zone
/// would be a wrong time.
pub(crate) fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    let parsed = OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| parse_rfc2822(s))
        .or_else(|| OffsetDateTime::parse(s, &Iso8601::DEFAULT).ok());
    parsed.and_then(rfc3339_utc)
}

/// RFC 2822 dates as feeds write them: optional weekday (with or without comma), one- or
/// two-digit day, English month abbreviation, two- or four-digit year, seconds optional,
/// numeric or named zone.
fn parse_rfc2822(s: &str) -> Option<OffsetDateTime> {
    let s = match s.split_once(',') {
        Some((weekday, rest)) if weekday.trim().chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => s,
    };
    let mut words = s.split_whitespace();
    let mut first = words.next()?;
    if first.chars().all(|c| c.is_ascii_alphabetic()) {
        first = words.next()?; // a weekday without its comma
    }
    let day: u8 = first.parse().ok()?;
    let month = month(words.next()?)?;
    let year_word = words.next()?;
    let mut year: i32 = year_word.parse().ok()?;
    match year_word.len() {
        2 => year += if year < 50 { 2000 } else { 1900 },
        3 => year += 1900,
        4 => {}
        _ => return None,
    }
    let mut hms = words.next()?.split(':');
    let hour: u8 = hms.next()?.parse().ok()?;
    let minute: u8 = hms.next()?.parse().ok()?;
    let second: u8 = match hms.next() {
        Some(sec) => sec.parse().ok()?,
        None => 0,
    };
    if hms.next().is_some() {
        return None;
    }
    let offset = zone(words.next()?)?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second.min(59)).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn month(word: &str) -> Option<Month> {
    let word = word.get(..3)?.to_ascii_lowercase();
    Some(match word.as_str() {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    })
}

/// A time zone as RFC 2822 and common practice write it. Ambiguous names (IST, BST) and the
/// military letters other than Z are refused rather than guessed.
fn zone(word: &str) -> Option<UtcOffset> {
    let (sign, digits) = match word.as_bytes().first() {
        Some(b'+') => (1i8, word.get(1..)?),
        Some(b'-') => (-1i8, word.get(1..)?),
        _ => {
            let hours: i8 = match word.to_ascii_uppercase().as_str() {
                "Z" | "UT" | "UTC" | "GMT" | "WET" => 0,
                "EST" => -5,
                "EDT" => -4,
                "CST" => -6,
                "CDT" => -5,
                "MST" => -7,
                "MDT" => -6,
                "PST" => -8,
                "PDT" => -7,
                "CET" | "WEST" => 1,
                "CEST" | "EET" => 2,
                "EEST" | "MSK" => 3,
                _ => return None,
            };
            return UtcOffset::from_hms(hours, 0, 0).ok();
        }
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i8 = digits.get(..2)?.parse().ok()?;
    let minutes: i8 = digits.get(2..)?.parse().ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_rfc3339_utc() {
        for (input, want) in [
            ("Fri, 01 Mar 2024 12:34:56 +0000", "2024-03-01T12:34:56Z"),
            ("Fri, 1 Mar 2024 14:34:56 +0200", "2024-03-01T12:34:56Z"),
            ("1 Mar 2024 15:34 MSK", "2024-03-01T12:34:00Z"),
            ("Fri 01 Mar 24 12:34:56 GMT", "2024-03-01T12:34:56Z"),
            ("Fri, 01 Mar 2024 07:34:56 EST", "2024-03-01T12:34:56Z"),
            ("Fri, 01 Mar 2024 12:34:56 +00:00", "2024-03-01T12:34:56Z"),
            ("2024-03-01T15:34:56+03:00", "2024-03-01T12:34:56Z"),
            ("2024-03-01T12:34:56.250Z", "2024-03-01T12:34:56.25Z"),
            ("2024-03-01T12:34:56Z", "2024-03-01T12:34:56Z"),
        ] {
            assert_eq!(parse_date(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn unreadable_or_zoneless_dates_are_none() {
        for input in [
            "",
            "yesterday",
            "Fri, 01 Mar 2024 12:34:56",
            "Fri, 01 Mar 2024 12:34:56 IST",
            "Fri, 31 Feb 2024 12:34:56 +0000",
            "Fri, 01 Mar 2024 25:34:56 +0000",
            "Fri, 01 Mar 2024 12:34:56 +9999",
            "Fri, 01 Mxr 2024 12:34:56 +0000",
            "2024-03-01T12:34:56",
        ] {
            assert_eq!(parse_date(input), None, "{input}");
        }
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("abc", 10), "abc");
        let long = "é".repeat(MAX_TEXT_BYTES);
        let text = finish_text(long, false).unwrap();
        assert!(text.len() <= MAX_TEXT_BYTES);
        assert!(text.ends_with(TEXT_TRUNCATED_MARK));
        assert_eq!(finish_text("  \n ".into(), false), None);
    }

    #[test]
    fn media_kinds() {
        assert_eq!(
            media_kind(Some("image/jpeg"), None, ""),
            MediaRefKind::Image
        );
        assert_eq!(media_kind(Some("video/mp4"), None, ""), MediaRefKind::Video);
        assert_eq!(
            media_kind(Some("audio/mpeg"), None, ""),
            MediaRefKind::Other
        );
        assert_eq!(
            media_kind(None, Some("video"), "https://x/a.jpg"),
            MediaRefKind::Video
        );
        assert_eq!(
            media_kind(None, None, "https://x/a.JPG?x=1"),
            MediaRefKind::Image
        );
        assert_eq!(
            media_kind(None, None, "https://x/a.mp4"),
            MediaRefKind::Video
        );
        assert_eq!(media_kind(None, None, "https://x/a"), MediaRefKind::Other);
    }

    #[test]
    fn urls_must_be_http() {
        let base = Url::parse("https://example.org/a/b").unwrap();
        assert_eq!(
            resolve_http(&base, "../c").map(String::from).as_deref(),
            Some("https://example.org/c")
        );
        assert_eq!(resolve_http(&base, "javascript:alert(1)"), None);
        assert_eq!(resolve_http(&base, "data:image/png;base64,AAAA"), None);
        assert_eq!(resolve_http(&base, ""), None);
        let long = format!("/{}", "a".repeat(MAX_FIELD_BYTES));
        assert_eq!(resolve_http(&base, &long), None);
        assert_eq!(absolute_http("/relative"), None);
    }
}
