//! Citations of a legal instrument: "GCIII 13(1)-(2)", "CA3(1)(a)", "RS 8(2)(b)(xxi)".
//!
//! The taxonomy writes each citation as one string, `INSTRUMENT ARTICLE`, where INSTRUMENT is a
//! key of the file's `abbreviations`. Common Article 3 is written without the space
//! ("CA3(1)(a)"), so a citation with no space is split before its first parenthesis.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::Serialize;

/// One citation of a legal instrument, as an entry of the taxonomy lists it.
///
/// Kept as its parts so the web app can group by instrument and show the instrument's full name
/// ([`Provision::instrument_name`]), and as the text the taxonomy wrote, so a citation is shown
/// exactly as the file gives it.
///
/// Two provisions are equal when instrument and article are: "CA3(1)(a)" and "CA3 (1)(a)" cite
/// the same thing.
#[derive(Debug, Clone, Serialize)]
pub struct Provision {
    /// The abbreviation of the instrument, e.g. `GCIII`, `CA3`, `RS` (a key of the taxonomy's
    /// abbreviations once the taxonomy has validated it).
    pub instrument: String,
    /// Everything after the instrument, e.g. `13(1)-(2)`, `(1)(a)`, `8(2)(b)(xxi)`, `Art. 13`.
    /// Free text: instruments number their parts differently, so it is not parsed further.
    pub article: String,
    /// The citation as written, with runs of white space made single spaces.
    pub text: String,
}

/// Why a citation string could not be read as `INSTRUMENT ARTICLE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The string is empty or only white space.
    #[error("empty citation")]
    Empty,
    /// No article follows the instrument ("GCIII").
    #[error("no article after the instrument")]
    NoArticle,
    /// The instrument is not an abbreviation: it must start with an ASCII letter and hold only
    /// ASCII letters and digits ("13(1)" has no instrument at all).
    #[error(
        "instrument {0:?} is not an abbreviation (ASCII letters and digits, starting with a letter)"
    )]
    BadInstrument(String),
}

impl Provision {
    /// Reads a citation written `INSTRUMENT ARTICLE`, or `INSTRUMENT(…)` for Common Article 3.
    ///
    /// Does not check that the instrument is known: only a [`Taxonomy`](crate::Taxonomy) knows
    /// its abbreviations, and [`Taxonomy::parse`](crate::Taxonomy::parse) checks every citation.
    ///
    /// ```
    /// use vigil_taxonomy::Provision;
    /// let p = Provision::parse("CA3(1)(a)")?;
    /// assert_eq!((p.instrument.as_str(), p.article.as_str()), ("CA3", "(1)(a)"));
    /// let p = Provision::parse("GCIII 13(1)-(2)")?;
    /// assert_eq!((p.instrument.as_str(), p.article.as_str()), ("GCIII", "13(1)-(2)"));
    /// assert!(Provision::parse("13(1)").is_err());
    /// # Ok::<(), vigil_taxonomy::ProvisionError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Provision, ProvisionError> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return Err(ProvisionError::Empty);
        }
        let (instrument, article) = match text.split_once(' ') {
            Some((instrument, article)) => (instrument, article),
            None => match text.find('(') {
                Some(at) => text.split_at(at),
                None => return Err(ProvisionError::NoArticle),
            },
        };
        if !is_abbreviation(instrument) {
            return Err(ProvisionError::BadInstrument(instrument.to_owned()));
        }
        if article.is_empty() {
            return Err(ProvisionError::NoArticle);
        }
        Ok(Provision {
            instrument: instrument.to_owned(),
            article: article.to_owned(),
            text: text.clone(),
        })
    }

    /// The full name of the instrument, from the abbreviations of the taxonomy that lists this
    /// provision (names belong to the taxonomy, not to the citation string). `None` only for a
    /// provision that did not come from that taxonomy.
    pub fn instrument_name<'t>(&self, taxonomy: &'t crate::Taxonomy) -> Option<&'t str> {
        taxonomy.instrument_name(&self.instrument)
    }

    /// The first article number and, for a range ("36-41"), the last: `Some((36, 41))`,
    /// `Some((23, 23))` for "23(c)", `None` where the article does not start with a number.
    pub(crate) fn article_range(&self) -> Option<(u32, u32)> {
        let leading = |s: &str| -> Option<(u32, usize)> {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            s[..digits].parse().ok().map(|n| (n, digits))
        };
        let (first, len) = leading(&self.article)?;
        let last = self.article[len..]
            .strip_prefix('-')
            .and_then(leading)
            .map_or(first, |(n, _)| n);
        Some((first, last))
    }
}

/// Whether `s` can be an instrument abbreviation: ASCII letters and digits, starting with a
/// letter (`GCIII`, `CA3`, `COM20`).
pub(crate) fn is_abbreviation(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

impl PartialEq for Provision {
    fn eq(&self, other: &Self) -> bool {
        self.instrument == other.instrument && self.article == other.article
    }
}

impl Eq for Provision {}

impl Hash for Provision {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.instrument.hash(state);
        self.article.hash(state);
    }
}

impl fmt::Display for Provision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (String, String) {
        let p = Provision::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (p.instrument, p.article)
    }

    #[test]
    fn reads_the_forms_the_taxonomy_uses() {
        for (text, instrument, article) in [
            ("GCIII 13(1)-(2)", "GCIII", "13(1)-(2)"),
            ("CA3(1)(a)", "CA3", "(1)(a)"),
            ("RS 8(2)(b)(xxi)", "RS", "8(2)(b)(xxi)"),
            ("CIHL 87", "CIHL", "87"),
            ("HR 36-41", "HR", "36-41"),
            ("COM20 Art. 13", "COM20", "Art. 13"),
            (
                "EoC 8(2)(b)(xxi) footnote 49",
                "EoC",
                "8(2)(b)(xxi) footnote 49",
            ),
            ("  API   75(2)(a) ", "API", "75(2)(a)"),
        ] {
            assert_eq!(parts(text), (instrument.into(), article.into()), "{text}");
        }
    }

    #[test]
    fn spelling_of_white_space_does_not_change_the_citation() {
        let a = Provision::parse("CA3(1)(a)").expect("parses");
        let b = Provision::parse("CA3  (1)(a)").expect("parses");
        assert_eq!(a, b);
        assert_eq!(a.text, "CA3(1)(a)");
        assert_eq!(b.text, "CA3 (1)(a)");
        assert_eq!(b.to_string(), "CA3 (1)(a)");
    }

    #[test]
    fn refuses_what_is_not_a_citation() {
        assert_eq!(Provision::parse(""), Err(ProvisionError::Empty));
        assert_eq!(Provision::parse("   "), Err(ProvisionError::Empty));
        assert_eq!(Provision::parse("GCIII"), Err(ProvisionError::NoArticle));
        assert_eq!(
            Provision::parse("13(1)"),
            Err(ProvisionError::BadInstrument("13".into()))
        );
        assert_eq!(
            Provision::parse("(1)(a)"),
            Err(ProvisionError::BadInstrument(String::new()))
        );
        assert_eq!(
            Provision::parse("GC-III 13"),
            Err(ProvisionError::BadInstrument("GC-III".into()))
        );
        // Reads as instrument "Rome": only the taxonomy, which knows the abbreviations,
        // can refuse it (UnknownInstrument).
        assert_eq!(parts("Rome Statute 8").0, "Rome");
    }

    #[test]
    fn article_ranges() {
        let range = |s: &str| Provision::parse(s).expect("parses").article_range();
        assert_eq!(range("HR 36-41"), Some((36, 41)));
        assert_eq!(range("HR 40-41"), Some((40, 41)));
        assert_eq!(range("HR 23(c)"), Some((23, 23)));
        assert_eq!(range("GCIII 13(1)-(2)"), Some((13, 13)));
        assert_eq!(range("CA3(1)(a)"), None);
        assert_eq!(range("COM20 Art. 13"), None);
    }
}
