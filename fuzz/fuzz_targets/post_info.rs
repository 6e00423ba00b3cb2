//! Any bytes read as a yt-dlp `.info.json`. Never panics; accepted exactly when the bytes are a
//! JSON object of at most `MAX_INFO_JSON` bytes and refused with an error past that size (the
//! same bytes padded with spaces to one byte over); trailing whitespace changes nothing; text
//! fields come out trimmed and non-empty; `posted_at` is a real RFC 3339 UTC time equal to the
//! `timestamp` (or the `upload_date` day as written); numbers are finite.
#![no_main]

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vigil_media::{MAX_INFO_JSON, PostInfo, post_info};

/// Days from 1970-01-01 to a civil date (the inverse of the library's conversion, written
/// independently: Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` as Unix seconds, checking every field's range.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shape = b.len() == 20
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b[19] == b'Z';
    if !shape {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let valid = (1970..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=days_in_month(y, mo)).contains(&d)
        && h < 24
        && mi < 60
        && se < 60;
    valid.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

fn trimmed(field: &Option<String>) -> bool {
    field
        .as_ref()
        .is_none_or(|s| !s.is_empty() && s.trim() == s)
}

fn same(
    a: &Result<PostInfo, vigil_media::MediaError>,
    b: &Result<PostInfo, vigil_media::MediaError>,
) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

thread_local! {
    /// MAX_INFO_JSON + 1 bytes of spaces, to put an input in front of (allocated once).
    static OVERSIZE: RefCell<Vec<u8>> = RefCell::new(vec![b' '; MAX_INFO_JSON + 1]);
}
static CHECKED_AT_LIMIT: AtomicBool = AtomicBool::new(false);

fuzz_target!(|data: &[u8]| {
    let result = post_info(data);

    // Accepted exactly when the bytes are a JSON object (the inputs here are far below the
    // size limit).
    let object = serde_json::from_slice::<Value>(data)
        .ok()
        .filter(Value::is_object);
    assert_eq!(
        result.is_ok(),
        object.is_some(),
        "accepted iff a JSON object: {result:?}"
    );

    // Trailing whitespace is not content.
    let mut padded = data.to_vec();
    padded.extend_from_slice(b" \n\t\r ");
    assert!(
        same(&result, &post_info(&padded)),
        "trailing whitespace changed the reading"
    );

    // One byte over the limit is refused, whatever the bytes (valid JSON padded with spaces
    // included), and the refusal is about the size.
    if data.len() <= MAX_INFO_JSON {
        OVERSIZE.with_borrow_mut(|big| {
            big[..data.len()].copy_from_slice(data);
            let over = post_info(big);
            big[..data.len()].fill(b' ');
            let err = over.expect_err("an info.json over MAX_INFO_JSON must be refused");
            assert!(
                err.to_string().contains("larger than"),
                "refused for its size: {err}"
            );
        });
    }
    // Exactly at the limit is read as usual: checked once per process, on the first object
    // (parsing 32 MiB of spaces on every input would slow the fuzzer down too much).
    if result.is_ok() && !CHECKED_AT_LIMIT.swap(true, Ordering::Relaxed) {
        OVERSIZE.with_borrow_mut(|big| {
            big[..data.len()].copy_from_slice(data);
            let at = post_info(&big[..MAX_INFO_JSON]);
            big[..data.len()].fill(b' ');
            assert!(
                same(&result, &at),
                "an info.json of exactly MAX_INFO_JSON bytes: {at:?}"
            );
        });
    }

    let (Ok(p), Some(v)) = (result, object) else {
        return;
    };
    serde_json::to_string(&p).expect("a post serialises (it goes into the inspect report)");
    for field in [
        &p.platform,
        &p.post_id,
        &p.url,
        &p.uploader,
        &p.uploader_id,
        &p.uploader_url,
        &p.channel,
        &p.channel_id,
        &p.title,
        &p.description,
    ] {
        assert!(
            trimmed(field),
            "text fields are trimmed and non-empty: {field:?}"
        );
    }
    assert!(
        p.duration_secs.is_none_or(f64::is_finite),
        "{:?}",
        p.duration_secs
    );

    // posted_at: the timestamp, when it is a time of years 1970..=9999, else the upload day.
    let timestamp = v
        .get("timestamp")
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite() && (0.0..253_402_300_800.0).contains(t));
    match (&p.posted_at, timestamp) {
        (Some(at), Some(t)) => {
            let secs = parse_rfc3339(at).unwrap_or_else(|| panic!("not RFC 3339 UTC: {at}"));
            assert_eq!(secs, t.floor() as i64, "{at} is not the timestamp {t}");
        }
        (None, Some(t)) => panic!("timestamp {t} not given as posted_at"),
        (Some(day), None) => {
            let b = day.as_bytes();
            assert!(
                b.len() == 10
                    && b[4] == b'-'
                    && b[7] == b'-'
                    && [0, 1, 2, 3, 5, 6, 8, 9]
                        .iter()
                        .all(|&i| b[i].is_ascii_digit()),
                "posted_at without a timestamp is the upload day: {day}"
            );
            let upload = p.posted_at.as_deref().map(|d| d.replace('-', ""));
            let raw = match v.get("upload_date") {
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            assert_eq!(upload, raw, "the day is upload_date as written");
        }
        (None, None) => {}
    }
});
