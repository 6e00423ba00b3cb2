//! The two points of law the taxonomy's header says the software must reflect, as data the web
//! app can show and rules it can apply, rather than prose an investigator has to remember.
//!
//! 1. A ceasefire violation is not itself a war crime (Hague Regulations 36-41 give the other
//!    party a right to denounce the armistice): tag the underlying conduct too.
//! 2. Publishing identifiable images of prisoners of war violates GC III Art. 13(2) (public
//!    curiosity) but is not by itself a war crime; humiliating images can be an outrage upon
//!    personal dignity (RS 8(2)(b)(xxi)). Whether it applies depends on who published the item
//!    ([`Publisher`]): never to the documenting office's own holdings.
//!
//! Which entries carry which note is derived when the taxonomy is parsed
//! ([`LegalNote::for_entry`]), so an entry added to the file later gets its note without a code
//! change.

use serde::{Deserialize, Serialize};

use crate::Provision;

/// The instrument whose armistice articles make an entry a ceasefire violation.
const ARMISTICE_INSTRUMENT: &str = "HR";
/// Hague Regulations 36-41: armistices, the right to denounce one (36, 40) and breaches by
/// individuals (41). The header of the taxonomy names this range.
const ARMISTICE_ARTICLES: (u32, u32) = (36, 41);
/// The category of publication entries, labelled "Media and public curiosity" in the file.
pub(crate) const PUBLIC_CURIOSITY_CATEGORY: &str = "media";

/// A caveat of law attached to a taxonomy entry, to be shown wherever the entry's tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LegalNote {
    /// The entry is a ceasefire or truce violation: not itself a war crime, so the conduct that
    /// broke the ceasefire (a killing, an attack on a recovery team) must be tagged as well.
    ///
    /// Carried by every entry that cites Hague Regulations articles within 36-41
    /// (`hostilities.ceasefire_violation`, `hostilities.recovery_truce_attacked`).
    CeasefireNotWarCrime,
    /// The entry is about publication of captives or the dead (exposure to public curiosity):
    /// a GC III 13(2) violation, not by itself a war crime, and humiliating images can be an
    /// outrage upon personal dignity. It applies only to items published by someone other than
    /// the documenting office ([`Publisher::public_curiosity_may_apply`]).
    ///
    /// Carried by every entry of the `media` category.
    PublicCuriosity,
}

impl LegalNote {
    /// The notes an entry carries, derived from its category and its citations.
    ///
    /// The rules, from the taxonomy's header: an entry citing Hague Regulations articles
    /// within 36-41 (the armistice articles) is a ceasefire violation; an entry of the
    /// `media` category ("Media and public curiosity") is a publication entry.
    pub fn for_entry(parent: &str, provisions: &[Provision]) -> Vec<LegalNote> {
        let mut notes = Vec::new();
        let (lo, hi) = ARMISTICE_ARTICLES;
        let cites_armistice = provisions.iter().any(|p| {
            p.instrument == ARMISTICE_INSTRUMENT
                && p.article_range()
                    .is_some_and(|(first, last)| first <= hi && last >= lo)
        });
        if cites_armistice {
            notes.push(LegalNote::CeasefireNotWarCrime);
        }
        if parent == PUBLIC_CURIOSITY_CATEGORY {
            notes.push(LegalNote::PublicCuriosity);
        }
        notes
    }

    /// A stable machine code for the API: `ceasefire-not-war-crime`, `public-curiosity`.
    pub fn code(self) -> &'static str {
        match self {
            LegalNote::CeasefireNotWarCrime => "ceasefire-not-war-crime",
            LegalNote::PublicCuriosity => "public-curiosity",
        }
    }

    /// The note as the web app shows it beside the tag.
    pub fn text(self) -> &'static str {
        match self {
            LegalNote::CeasefireNotWarCrime => {
                "Not itself a war crime (Hague Regulations 36-41 give a right to denounce the \
                 armistice); tag the underlying conduct too."
            }
            LegalNote::PublicCuriosity => {
                "GC III 13(2) violation, not by itself a war crime; humiliating images can be an \
                 outrage upon personal dignity (RS 8(2)(b)(xxi)). Does not apply to the office's \
                 own holdings."
            }
        }
    }

    /// Whether the note says the conduct is, by itself, not a war crime (both notes do).
    pub fn denies_war_crime_in_itself(self) -> bool {
        match self {
            LegalNote::CeasefireNotWarCrime | LegalNote::PublicCuriosity => true,
        }
    }
}

/// Who published an item: a field of the item, separate from its tags, because the
/// public-curiosity entries depend on it.
///
/// The documenting office holds images of prisoners to document violations; holding them is not
/// exposing anyone to public curiosity, so its own holdings are never tagged that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Publisher {
    /// The side holding the captives, or its forces, officials or affiliated channels.
    PerpetratorSide,
    /// Anyone else: media, bloggers, the other side, the public.
    ThirdParty,
    /// The documenting office itself (its own captures, exports and submissions).
    OwnOffice,
}

impl Publisher {
    /// Every publisher, in the order a form lists them.
    pub const ALL: [Publisher; 3] = [
        Publisher::PerpetratorSide,
        Publisher::ThirdParty,
        Publisher::OwnOffice,
    ];

    /// Whether entries carrying [`LegalNote::PublicCuriosity`] may be applied to an item this
    /// publisher published: yes for the perpetrator side and third parties, never for the
    /// office's own holdings.
    pub fn public_curiosity_may_apply(self) -> bool {
        match self {
            Publisher::PerpetratorSide | Publisher::ThirdParty => true,
            Publisher::OwnOffice => false,
        }
    }

    /// A stable machine code: `perpetrator-side`, `third-party`, `own-office`.
    pub fn code(self) -> &'static str {
        match self {
            Publisher::PerpetratorSide => "perpetrator-side",
            Publisher::ThirdParty => "third-party",
            Publisher::OwnOffice => "own-office",
        }
    }

    /// The publisher for a [`code`](Publisher::code), `None` for any other string.
    pub fn from_code(code: &str) -> Option<Publisher> {
        Publisher::ALL.into_iter().find(|p| p.code() == code)
    }

    /// A label for forms.
    pub fn label(self) -> &'static str {
        match self {
            Publisher::PerpetratorSide => "Perpetrator side",
            Publisher::ThirdParty => "Third party",
            Publisher::OwnOffice => "Own office",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provisions(texts: &[&str]) -> Vec<Provision> {
        texts
            .iter()
            .map(|t| Provision::parse(t).expect("parses"))
            .collect()
    }

    #[test]
    fn armistice_articles_mark_a_ceasefire_violation() {
        for cites in [
            &["HR 36-41"][..],
            &["GCI 15(2)", "HR 40-41"],
            &["HR 36"],
            &["HR 30-36"],
        ] {
            assert_eq!(
                LegalNote::for_entry("hostilities", &provisions(cites)),
                [LegalNote::CeasefireNotWarCrime],
                "{cites:?}"
            );
        }
        for cites in [&["HR 23(c)"][..], &["HR 42"], &["CIHL 36"], &["HR 30-35"]] {
            assert!(
                LegalNote::for_entry("kill", &provisions(cites)).is_empty(),
                "{cites:?}"
            );
        }
    }

    #[test]
    fn media_entries_are_public_curiosity() {
        assert_eq!(
            LegalNote::for_entry("media", &provisions(&["GCIII 13(2)"])),
            [LegalNote::PublicCuriosity]
        );
        assert!(LegalNote::for_entry("pow", &provisions(&["GCIII 13(2)"])).is_empty());
    }

    #[test]
    fn public_curiosity_never_for_own_holdings() {
        assert!(Publisher::PerpetratorSide.public_curiosity_may_apply());
        assert!(Publisher::ThirdParty.public_curiosity_may_apply());
        assert!(!Publisher::OwnOffice.public_curiosity_may_apply());
    }

    #[test]
    fn publisher_codes_round_trip() {
        for p in Publisher::ALL {
            assert_eq!(Publisher::from_code(p.code()), Some(p));
        }
        assert_eq!(Publisher::from_code("own_office"), None);
    }
}
