//! One timestamp format everywhere: RFC 3339, UTC, microseconds, `Z`. It sorts as text.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Now, by this machine's clock, in the catalog's format.
pub fn now_rfc3339() -> String {
    format_utc(OffsetDateTime::now_utc())
}

/// `seconds` from now (negative: ago), in the catalog's format: for schedules.
pub fn rfc3339_in(seconds: f64) -> String {
    let offset = time::Duration::seconds_f64(seconds.clamp(-1e10, 1e10));
    format_utc(OffsetDateTime::now_utc().saturating_add(offset))
}

fn format_utc(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses an RFC 3339 time (any offset) or a bare date (`2026-11-25`, midnight UTC) and
/// returns it in the catalog's format, for filters typed by people.
pub fn parse_rfc3339(text: &str) -> Result<String, String> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(format_utc(t));
    }
    let date_fmt = format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_fmt)
        .map(|d| format_utc(d.midnight().assume_utc()))
        .map_err(|_| {
            format!(
                "not a date or RFC 3339 time: {text:?} (e.g. 2026-11-25 or 2026-11-25T08:00:00Z)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sort_as_text_and_parse_normalises_offsets() {
        assert_eq!(
            parse_rfc3339("2026-11-25T12:00:00+02:00").as_deref(),
            Ok("2026-11-25T10:00:00.000000Z")
        );
        assert_eq!(
            parse_rfc3339("2026-11-25").as_deref(),
            Ok("2026-11-25T00:00:00.000000Z")
        );
        assert!(parse_rfc3339("yesterday").is_err());
        assert_eq!(now_rfc3339().len(), 27);
    }
}
