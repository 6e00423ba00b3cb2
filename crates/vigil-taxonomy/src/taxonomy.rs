//! The taxonomy, its entries and categories: parsing, validation and lookups.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::provision::is_abbreviation;
use crate::{LegalNote, Provision, Publisher, TaxonomyError};

/// The taxonomy file as shipped in this crate: a copy of `../shared/taxonomy/ihl.yaml`, so the
/// app works on a clone without the shared folder (`.ci/run` checks the copy has not drifted).
pub const IHL_YAML: &str = include_str!("../ihl.yaml");

/// A citable classification of alleged violations of international humanitarian law, for
/// tagging what media of armed conflict shows.
///
/// Every entry has a stable dotted id (what an item's tag stores), a label, its category and the
/// provisions that make the conduct a violation. A parsed taxonomy has been validated (see
/// [`Taxonomy::parse`]), so lookups never meet a dangling parent or an unknown instrument.
#[derive(Debug, Clone, Serialize)]
pub struct Taxonomy {
    version: String,
    abbreviations: BTreeMap<String, String>,
    scope: String,
    categories: Vec<Category>,
    entries: Vec<Entry>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

/// A top-level group of entries ("Treatment of prisoners of war and detainees"), for grouping
/// the tag picker and filtering search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// A single lowercase word, e.g. `pow`; every entry id under it starts with `pow.`.
    pub id: String,
    /// What the category covers, shown as a heading.
    pub label: String,
}

/// One kind of alleged violation: what an investigator tags an item or incident with.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Stable dotted id, `CATEGORY.name` (`pow.violence`): stored on tags, so never reused for
    /// something else.
    pub id: String,
    /// Short name shown on the tag.
    pub label: String,
    /// The id of the entry's [`Category`].
    pub parent: String,
    /// The citations that make the conduct a violation, in the file's order.
    pub provisions: Vec<Provision>,
    /// Citations not yet checked against the text of the instrument, as the file lists them.
    /// Most repeat one of [`provisions`](Entry::provisions); the others are remarks on an
    /// instrument the entry cites ([`Entry::unverified_remarks`]). Ask [`Entry::is_verified`]
    /// before presenting a citation as checked.
    pub unverified: Vec<Provision>,
    /// One line describing the conduct, in the taxonomy's own words.
    pub desc: String,
    /// The nearest term in other public vocabularies (HURIDOCS, Bayanat, Atlos), vocabulary →
    /// term, for exchanging data with tools that use them.
    pub xwalk: BTreeMap<String, String>,
    /// Caveats of law to show with the tag, derived on parsing ([`LegalNote::for_entry`]).
    legal_notes: Vec<LegalNote>,
    /// Lowercased `id` and `label`, then `desc`, for [`Taxonomy::search`].
    #[serde(skip)]
    haystack: (String, String),
}

impl Entry {
    /// Whether `provision` has been checked against the text of its instrument: `false` when
    /// the entry lists it as unverified, or lists a remark on its instrument (the file's
    /// "COM20 paragraph numbers" leaves every COM20 citation of that entry unchecked).
    pub fn is_verified(&self, provision: &Provision) -> bool {
        !self.unverified.iter().any(|u| {
            u == provision || (u.instrument == provision.instrument && !self.provisions.contains(u))
        })
    }

    /// The entry's unverified items that are not among its provisions: remarks on how an
    /// instrument is cited ("EoC footnote for 8(2)(c)(ii)", "COM20 paragraph numbers"), shown
    /// with the citations rather than as citations.
    pub fn unverified_remarks(&self) -> impl Iterator<Item = &Provision> {
        self.unverified
            .iter()
            .filter(|u| !self.provisions.contains(u))
    }

    /// Caveats of law to show wherever this entry's tag is shown.
    pub fn legal_notes(&self) -> &[LegalNote] {
        &self.legal_notes
    }

    /// `Some(false)` when the conduct is, by itself, not a war crime (a ceasefire violation, a
    /// publication entry); `None` otherwise: the taxonomy does not decide that question for the
    /// other entries, a court does, and their Rome Statute citations say where to look.
    pub fn is_war_crime_in_itself(&self) -> Option<bool> {
        self.legal_notes
            .iter()
            .any(|n| n.denies_war_crime_in_itself())
            .then_some(false)
    }

    /// Whether the entry may be applied to an item published by `publisher`: always, except
    /// the public-curiosity entries on the office's own holdings.
    pub fn may_apply_to(&self, publisher: Publisher) -> bool {
        publisher.public_curiosity_may_apply()
            || !self.legal_notes.contains(&LegalNote::PublicCuriosity)
    }
}

/// The file as written, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxonomy {
    // A string although the file writes `0.1`: kept as written (`0.10` stays `0.10`).
    version: String,
    #[serde(deserialize_with = "unique_keys")]
    abbreviations: BTreeMap<String, String>,
    scope: String,
    categories: Vec<Category>,
    entries: Vec<RawEntry>,
}

// `deny_unknown_fields`: a misspelt `unverifed:` would otherwise silently mark every citation
// of the entry as checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    label: String,
    parent: String,
    provisions: Vec<String>,
    #[serde(default)]
    unverified: Vec<String>,
    desc: String,
    #[serde(default, deserialize_with = "unique_keys")]
    xwalk: BTreeMap<String, String>,
}

/// A mapping whose keys must differ: the YAML reader would keep the last of two `GCIII:` lines
/// silently, changing what a citation refers to.
fn unique_keys<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a mapping of strings to strings")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key {key:?}"
                    )));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique)
}

impl Taxonomy {
    /// The taxonomy shipped with Vigil ([`IHL_YAML`]), parsed on first use and kept.
    ///
    /// # Panics
    /// If the embedded file is invalid, which the crate's tests rule out for every build
    /// (`embedded_taxonomy_parses`).
    pub fn load() -> &'static Taxonomy {
        static EMBEDDED: OnceLock<Taxonomy> = OnceLock::new();
        EMBEDDED.get_or_init(|| match Taxonomy::parse(IHL_YAML) {
            Ok(taxonomy) => taxonomy,
            Err(e) => panic!("the taxonomy embedded in vigil-taxonomy is invalid: {e}"),
        })
    }

    /// Reads and validates a taxonomy file.
    ///
    /// Refuses, naming the entry: ids that are not lowercase dotted words, or used twice; a
    /// parent that is not a category, or an id not under its parent (`pow.violence` under
    /// `pow`); an empty label, description or provision list; a citation that is not
    /// `INSTRUMENT ARTICLE`, or whose instrument is not an abbreviation; an unverified citation
    /// that is not among the entry's provisions. An unverified item whose article is prose
    /// starting with a lowercase letter ("COM20 paragraph numbers") is accepted as a remark
    /// when the entry cites that instrument ([`Entry::unverified_remarks`]).
    pub fn parse(yaml: &str) -> Result<Taxonomy, TaxonomyError> {
        let raw: RawTaxonomy =
            serde_norway::from_str(yaml).map_err(|e| TaxonomyError::Yaml(e.to_string()))?;

        for (abbreviation, name) in &raw.abbreviations {
            if !is_abbreviation(abbreviation) {
                return Err(TaxonomyError::BadId {
                    id: abbreviation.clone(),
                    reason: "an abbreviation is ASCII letters and digits, starting with a letter",
                });
            }
            if name.trim().is_empty() {
                return Err(empty(abbreviation, "abbreviation name"));
            }
        }

        let mut categories = HashSet::new();
        for category in &raw.categories {
            check_id(&category.id, IdKind::Category)?;
            if !categories.insert(category.id.as_str()) {
                return Err(TaxonomyError::DuplicateId {
                    id: category.id.clone(),
                });
            }
            if category.label.trim().is_empty() {
                return Err(empty(&category.id, "label"));
            }
        }

        let mut entries = Vec::with_capacity(raw.entries.len());
        let mut index = HashMap::with_capacity(raw.entries.len());
        for raw_entry in raw.entries {
            let entry = validate_entry(raw_entry, &categories, &raw.abbreviations)?;
            if index.insert(entry.id.clone(), entries.len()).is_some() {
                return Err(TaxonomyError::DuplicateId { id: entry.id });
            }
            entries.push(entry);
        }

        Ok(Taxonomy {
            version: raw.version,
            abbreviations: raw.abbreviations,
            scope: raw.scope,
            categories: raw.categories,
            entries,
            index,
        })
    }

    /// The file's version, as written (`0.1`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Where each instrument applies (international or non-international armed conflict), as
    /// the file states it; shown with the taxonomy so a citation is read in its context.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Instrument abbreviations (`GCIII`) and their full names.
    pub fn abbreviations(&self) -> &BTreeMap<String, String> {
        &self.abbreviations
    }

    /// The full name of an instrument abbreviation, `None` if the taxonomy has no such one.
    pub fn instrument_name(&self, abbreviation: &str) -> Option<&str> {
        self.abbreviations.get(abbreviation).map(String::as_str)
    }

    /// The categories, in the file's order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The category with this id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Every entry, in the file's order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this id (what a tag stores).
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.index.get(id).map(|&i| &self.entries[i])
    }

    /// The entries of a category, in the file's order; none for an unknown category.
    pub fn entries_in<'t>(&'t self, category: &'t str) -> impl Iterator<Item = &'t Entry> + 't {
        self.entries.iter().filter(move |e| e.parent == category)
    }

    /// Entries for a tag picker: those containing every word of `text`, case-insensitively, in
    /// their id, label or description. Entries matching on id or label alone come first, then
    /// those that needed the description; each group in the file's order. An empty `text`
    /// gives every entry.
    pub fn search(&self, text: &str) -> Vec<&Entry> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let (mut by_name, mut by_desc) = (Vec::new(), Vec::new());
        for entry in &self.entries {
            let (name, desc) = &entry.haystack;
            if words.iter().all(|w| name.contains(w.as_str())) {
                by_name.push(entry);
            } else if words
                .iter()
                .all(|w| name.contains(w.as_str()) || desc.contains(w.as_str()))
            {
                by_desc.push(entry);
            }
        }
        by_name.extend(by_desc);
        by_name
    }
}

fn empty(id: &str, field: &'static str) -> TaxonomyError {
    TaxonomyError::Empty {
        id: id.to_owned(),
        field,
    }
}

#[derive(Clone, Copy)]
enum IdKind {
    Category,
    Entry,
}

/// Ids are lowercase ASCII words (`a-z`, `0-9`, `_`) joined by dots; a category's is one word,
/// an entry's at least two.
fn check_id(id: &str, kind: IdKind) -> Result<(), TaxonomyError> {
    let bad = |reason| {
        Err(TaxonomyError::BadId {
            id: id.to_owned(),
            reason,
        })
    };
    let words: Vec<&str> = id.split('.').collect();
    if words.iter().any(|w| w.is_empty()) {
        return bad("empty word between dots");
    }
    let word_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if !id.chars().all(|c| c == '.' || word_char(c)) {
        return bad("only a-z, 0-9, _ and dots are allowed");
    }
    match (kind, words.len()) {
        (IdKind::Category, n) if n > 1 => bad("a category id is a single word"),
        (IdKind::Entry, 1) => bad("an entry id is CATEGORY.name"),
        _ => Ok(()),
    }
}

fn validate_entry(
    raw: RawEntry,
    categories: &HashSet<&str>,
    abbreviations: &BTreeMap<String, String>,
) -> Result<Entry, TaxonomyError> {
    let id = raw.id;
    check_id(&id, IdKind::Entry)?;
    if !categories.contains(raw.parent.as_str()) {
        return Err(TaxonomyError::UnknownParent {
            id,
            parent: raw.parent,
        });
    }
    if id
        .strip_prefix(raw.parent.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
        .is_none()
    {
        return Err(TaxonomyError::IdNotUnderParent {
            id,
            parent: raw.parent,
        });
    }
    if raw.label.trim().is_empty() {
        return Err(empty(&id, "label"));
    }
    if raw.desc.trim().is_empty() {
        return Err(empty(&id, "desc"));
    }
    if raw.provisions.is_empty() {
        return Err(empty(&id, "provisions"));
    }

    let citation = |text: &String| -> Result<Provision, TaxonomyError> {
        let provision = Provision::parse(text).map_err(|reason| TaxonomyError::BadProvision {
            id: id.clone(),
            text: text.clone(),
            reason,
        })?;
        if !abbreviations.contains_key(&provision.instrument) {
            return Err(TaxonomyError::UnknownInstrument {
                id: id.clone(),
                provision: provision.text,
                instrument: provision.instrument,
            });
        }
        Ok(provision)
    };
    let provisions = raw
        .provisions
        .iter()
        .map(citation)
        .collect::<Result<Vec<_>, _>>()?;
    let unverified = raw
        .unverified
        .iter()
        .map(citation)
        .collect::<Result<Vec<_>, _>>()?;
    for u in &unverified {
        let is_remark = u.article.starts_with(|c: char| c.is_ascii_lowercase())
            && provisions.iter().any(|p| p.instrument == u.instrument);
        if !provisions.contains(u) && !is_remark {
            return Err(TaxonomyError::UnverifiedNotCited {
                id,
                provision: u.text.clone(),
            });
        }
    }

    let legal_notes = LegalNote::for_entry(&raw.parent, &provisions);
    let haystack = (
        format!("{id}\n{}", raw.label).to_lowercase(),
        raw.desc.to_lowercase(),
    );
    Ok(Entry {
        id,
        label: raw.label,
        parent: raw.parent,
        provisions,
        unverified,
        desc: raw.desc,
        xwalk: raw.xwalk,
        legal_notes,
        haystack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProvisionError;

    fn ids<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Vec<&'a str> {
        entries.into_iter().map(|e| e.id.as_str()).collect()
    }

    fn provision(text: &str) -> Provision {
        Provision::parse(text).expect("parses")
    }

    #[test]
    fn embedded_taxonomy_parses() {
        let taxonomy = Taxonomy::parse(IHL_YAML).expect("the embedded taxonomy is valid");
        assert_eq!(taxonomy.version(), "0.2");
        assert!(taxonomy.scope().contains("CA3"));
        assert_eq!(taxonomy.categories().len(), 7);
        assert_eq!(taxonomy.entries().len(), 33);
        assert_eq!(taxonomy.abbreviations().len(), 10);
        // load() is the same taxonomy, parsed once.
        assert_eq!(ids(Taxonomy::load().entries()), ids(taxonomy.entries()));
        assert!(std::ptr::eq(Taxonomy::load(), Taxonomy::load()));
    }

    #[test]
    fn every_citation_names_a_known_instrument() {
        let taxonomy = Taxonomy::load();
        let mut count = 0;
        for entry in taxonomy.entries() {
            for p in entry.provisions.iter().chain(&entry.unverified) {
                let name = p.instrument_name(taxonomy);
                assert!(name.is_some_and(|n| !n.is_empty()), "{}: {p}", entry.id);
                assert!(!p.article.is_empty(), "{}: {p}", entry.id);
                assert_eq!(
                    Provision::parse(&p.text).as_ref(),
                    Ok(p),
                    "{}: {p}",
                    entry.id
                );
                count += 1;
            }
        }
        assert_eq!(count, 133, "provisions and unverified items in the file");
        let ca3 = &taxonomy.get("pow.violence").expect("present").provisions[2];
        assert_eq!(
            (ca3.instrument.as_str(), ca3.article.as_str()),
            ("CA3", "(1)(a)")
        );
        assert_eq!(
            ca3.instrument_name(taxonomy),
            Some(
                "Article 3 common to the four Geneva Conventions of 1949 (non-international armed conflict)"
            )
        );
    }

    #[test]
    fn lookups() {
        let taxonomy = Taxonomy::load();
        let entry = taxonomy.get("pow.violence").expect("present");
        assert_eq!(
            entry.label,
            "Beating or physical violence against a captive"
        );
        assert_eq!(entry.parent, "pow");
        assert_eq!(entry.provisions[0].text, "GCIII 13(1)-(2)");
        assert_eq!(entry.xwalk["bayanat"], "Human/Cruel Treatment");
        assert!(taxonomy.get("pow").is_none(), "a category is not an entry");
        assert!(taxonomy.get("POW.VIOLENCE").is_none(), "ids are exact");
        assert!(taxonomy.get("").is_none());

        let categories: Vec<&str> = taxonomy
            .categories()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(
            categories,
            [
                "pow",
                "coerce",
                "kill",
                "dead",
                "missing",
                "hostilities",
                "media"
            ]
        );
        assert_eq!(
            taxonomy.category("media").map(|c| c.label.as_str()),
            Some("Media and public curiosity")
        );
        assert_eq!(
            ids(taxonomy.entries_in("hostilities")),
            [
                "hostilities.ceasefire_violation",
                "hostilities.recovery_truce_attacked"
            ]
        );
        let mut total = 0;
        for category in taxonomy.categories() {
            let entries: Vec<&Entry> = taxonomy.entries_in(&category.id).collect();
            assert!(!entries.is_empty(), "{} has no entries", category.id);
            assert!(entries.iter().all(|e| e.parent == category.id));
            total += entries.len();
        }
        assert_eq!(total, taxonomy.entries().len());
        assert_eq!(taxonomy.entries_in("nope").count(), 0);
        assert_eq!(
            taxonomy.instrument_name("GCIII").map(|n| &n[..22]),
            Some("Geneva Convention III ")
        );
        assert_eq!(taxonomy.instrument_name("gciii"), None);
    }

    #[test]
    fn search_for_a_tag_picker() {
        let taxonomy = Taxonomy::load();
        assert_eq!(ids(taxonomy.search("BEATING")), ["pow.violence"]);
        assert_eq!(ids(taxonomy.search("  mock   Execution ")), ["pow.threats"]);
        // Label matches first, then those found only in the description (kill.captive says
        // "including beheading a living captive").
        assert_eq!(
            ids(taxonomy.search("beheading")),
            ["kill.captive", "dead.mutilation"]
        );
        assert_eq!(ids(taxonomy.search("decapitation")), ["dead.mutilation"]);
        // By id, and words may come from different fields.
        assert_eq!(ids(taxonomy.search("no_quarter")), ["coerce.no_quarter"]);
        assert_eq!(
            ids(taxonomy.search("media interrogation")),
            ["media.personal_data"]
        );
        assert_eq!(taxonomy.search("").len(), taxonomy.entries().len());
        assert!(taxonomy.search("xyzzy").is_empty());
        let hits = ids(taxonomy.search("ceasefire"));
        assert_eq!(hits[0], "hostilities.ceasefire_violation");
    }

    #[test]
    fn unverified_citations() {
        // Version 0.2: the citations were checked against the instruments; two remain open,
        // each a provision of its own.
        let taxonomy = Taxonomy::load();
        let violence = taxonomy.get("pow.violence").expect("present");
        assert!(violence.is_verified(&provision("RS 8(2)(a)(iii)")));
        assert!(violence.is_verified(&provision("RS 8(2)(c)(i)")));
        assert!(violence.is_verified(&provision("CA3 (1)(a)")));
        assert_eq!(violence.unverified_remarks().count(), 0);

        let no_quarter = taxonomy.get("coerce.no_quarter").expect("present");
        assert!(
            no_quarter
                .provisions
                .iter()
                .all(|p| no_quarter.is_verified(p))
        );

        let images = taxonomy
            .get("media.identifiable_pow_images")
            .expect("present");
        assert_eq!(images.unverified_remarks().count(), 0);
        assert!(!images.is_verified(&provision("COM20 Art. 13 paragraph 1627")));
        assert!(images.is_verified(&provision("COM20 Art. 13")));
        assert!(images.is_verified(&provision("GCIII 13(2)")));

        let mutilation = taxonomy.get("dead.mutilation").expect("present");
        assert_eq!(mutilation.unverified_remarks().count(), 0);
        assert!(!mutilation.is_verified(&provision("EoC 8(2)(c)(ii) footnote 57")));
        assert!(mutilation.is_verified(&provision("EoC 8(2)(b)(xxi) footnote 49")));
        assert!(mutilation.is_verified(&provision("RS 8(2)(c)(ii)")));

        let unchecked: Vec<String> = taxonomy
            .entries()
            .iter()
            .flat_map(|e| {
                e.provisions
                    .iter()
                    .filter(|p| !e.is_verified(p))
                    .map(|p| format!("{}: {}", e.id, p.text))
            })
            .collect();
        assert_eq!(
            unchecked,
            [
                "dead.mutilation: EoC 8(2)(c)(ii) footnote 57",
                "media.identifiable_pow_images: COM20 Art. 13 paragraph 1627"
            ]
        );
    }

    #[test]
    fn a_ceasefire_violation_is_not_itself_a_war_crime() {
        let taxonomy = Taxonomy::load();
        let marked: Vec<&str> = taxonomy
            .entries()
            .iter()
            .filter(|e| e.legal_notes().contains(&LegalNote::CeasefireNotWarCrime))
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(
            marked,
            [
                "hostilities.ceasefire_violation",
                "hostilities.recovery_truce_attacked"
            ]
        );
        let ceasefire = taxonomy
            .get("hostilities.ceasefire_violation")
            .expect("present");
        // The rule in code agrees with how the file itself phrases the entry.
        assert!(ceasefire.desc.contains("not itself a war crime"));
        assert_eq!(ceasefire.is_war_crime_in_itself(), Some(false));
        assert!(
            LegalNote::CeasefireNotWarCrime
                .text()
                .contains("tag the underlying conduct too")
        );
        for publisher in Publisher::ALL {
            assert!(ceasefire.may_apply_to(publisher));
        }
    }

    #[test]
    fn public_curiosity_depends_on_who_published() {
        let taxonomy = Taxonomy::load();
        let marked: Vec<&str> = taxonomy
            .entries()
            .iter()
            .filter(|e| e.legal_notes().contains(&LegalNote::PublicCuriosity))
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(marked, ids(taxonomy.entries_in("media")));
        assert_eq!(marked.len(), 4);
        for id in marked {
            let entry = taxonomy.get(id).expect("present");
            // The header's basis: GC III 13(2), cited by every publication entry.
            assert!(entry.provisions.contains(&provision("GCIII 13(2)")), "{id}");
            assert_eq!(entry.is_war_crime_in_itself(), Some(false), "{id}");
            assert!(entry.may_apply_to(Publisher::PerpetratorSide), "{id}");
            assert!(entry.may_apply_to(Publisher::ThirdParty), "{id}");
            assert!(!entry.may_apply_to(Publisher::OwnOffice), "{id}");
        }
        let text = LegalNote::PublicCuriosity.text();
        assert!(text.contains("GC III 13(2)") && text.contains("RS 8(2)(b)(xxi)"));

        // The same conduct tagged as treatment of a captive is not about publication.
        let humiliation = taxonomy.get("pow.humiliation").expect("present");
        assert!(humiliation.legal_notes().is_empty());
        assert_eq!(humiliation.is_war_crime_in_itself(), None);
        assert!(humiliation.may_apply_to(Publisher::OwnOffice));
    }

    #[test]
    fn serialises_for_the_api() {
        let taxonomy = Taxonomy::load();
        let json = serde_json::to_value(taxonomy.get("hostilities.ceasefire_violation"))
            .expect("serialises");
        assert_eq!(
            json["legal_notes"],
            serde_json::json!(["ceasefire-not-war-crime"])
        );
        assert_eq!(json["provisions"][0]["instrument"], "HR");
        assert!(json.get("haystack").is_none());
        let all = serde_json::to_value(taxonomy).expect("serialises");
        assert_eq!(all["entries"].as_array().map(Vec::len), Some(33));
        assert_eq!(
            serde_json::to_value(Publisher::OwnOffice).ok(),
            Some("own-office".into())
        );
    }

    /// A small valid file; each malformed case replaces one line of it.
    const BASE: &str = "\
version: 1
abbreviations:
  GCIII: Geneva Convention III
  CA3: Common Article 3
scope: test
categories:
  - {id: pow, label: Prisoners}
  - {id: media, label: Media}
entries:
  - id: pow.violence
    label: Violence
    parent: pow
    provisions: [GCIII 13(1), CA3(1)(a)]
    unverified: [CA3(1)(a)]
    desc: Blows.
  - id: media.images
    label: Images
    parent: media
    provisions: [GCIII 13(2)]
    desc: Publishing faces.
";

    fn with(find: &str, replace: &str) -> Result<Taxonomy, TaxonomyError> {
        assert!(BASE.contains(find), "{find}");
        Taxonomy::parse(&BASE.replacen(find, replace, 1))
    }

    #[test]
    fn base_is_valid() {
        let taxonomy = Taxonomy::parse(BASE).expect("valid");
        let violence = taxonomy.get("pow.violence").expect("present");
        assert!(!violence.is_verified(&provision("CA3(1)(a)")));
        assert!(violence.is_verified(&provision("GCIII 13(1)")));
        let images = taxonomy.get("media.images").expect("present");
        assert_eq!(images.legal_notes(), [LegalNote::PublicCuriosity]);
    }

    #[test]
    fn duplicate_id() {
        let twice = format!(
            "{BASE}  - id: pow.violence\n    label: Again\n    parent: pow\n    provisions: [GCIII 13]\n    desc: Again.\n"
        );
        let err = Taxonomy::parse(&twice).map(|_| ()).expect_err("refused");
        assert_eq!(
            err,
            TaxonomyError::DuplicateId {
                id: "pow.violence".into()
            }
        );
        assert!(err.to_string().contains("pow.violence"));
        assert_eq!(err.code(), "duplicate-id");

        let err = with("{id: media, label: Media}", "{id: pow, label: Again}").map(|_| ());
        assert!(matches!(err, Err(TaxonomyError::DuplicateId { id }) if id == "pow"));
    }

    #[test]
    fn unknown_parent() {
        let err = with("parent: media", "parent: medya")
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(
            err,
            TaxonomyError::UnknownParent {
                id: "media.images".into(),
                parent: "medya".into()
            }
        );
        assert!(err.to_string().contains("media.images") && err.to_string().contains("medya"));
    }

    #[test]
    fn id_not_under_parent() {
        let err = with("parent: media", "parent: pow")
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(
            err,
            TaxonomyError::IdNotUnderParent {
                id: "media.images".into(),
                parent: "pow".into()
            }
        );
        // A prefix of the parent's name is not enough: `power.x` is not under `pow`.
        let err = with("id: pow.violence", "id: power.violence")
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(err.code(), "id-not-under-parent");
    }

    #[test]
    fn bad_ids() {
        for (find, replace, id) in [
            ("id: pow.violence", "id: violence", "violence"),
            ("id: pow.violence", "id: pow.Violence", "pow.Violence"),
            ("id: pow.violence", "id: pow..violence", "pow..violence"),
            ("id: pow.violence", "id: \"pow.violence \"", "pow.violence "),
            ("{id: pow, label", "{id: p.o.w, label", "p.o.w"),
            ("  CA3: Common", "  C A3: Common", "C A3"),
        ] {
            let err = with(find, replace).map(|_| ()).expect_err(replace);
            assert!(
                matches!(&err, TaxonomyError::BadId { id: got, .. } if got == id),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_instrument() {
        let err = with("[GCIII 13(2)]", "[GCIII 13(2), RS 8(2)(b)(xxi)]")
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(
            err,
            TaxonomyError::UnknownInstrument {
                id: "media.images".into(),
                provision: "RS 8(2)(b)(xxi)".into(),
                instrument: "RS".into(),
            }
        );
        // Abbreviations are exact: `gciii` is not `GCIII`.
        let err = with("[GCIII 13(2)]", "[gciii 13(2)]").map(|_| ());
        assert!(matches!(err, Err(TaxonomyError::UnknownInstrument { .. })));
        // Unverified citations are checked too.
        let err = with("unverified: [CA3(1)(a)]", "unverified: [CA4(1)(a)]").map(|_| ());
        assert!(
            matches!(err, Err(TaxonomyError::UnknownInstrument { instrument, .. }) if instrument == "CA4")
        );
    }

    #[test]
    fn unverified_not_among_provisions() {
        let err = with("unverified: [CA3(1)(a)]", "unverified: [CA3(1)(b)]")
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(
            err,
            TaxonomyError::UnverifiedNotCited {
                id: "pow.violence".into(),
                provision: "CA3(1)(b)".into()
            }
        );
        assert_eq!(err.code(), "unverified-not-cited");
        // A remark needs the entry to cite its instrument.
        let err = with(
            "provisions: [GCIII 13(1), CA3(1)(a)]\n    unverified: [CA3(1)(a)]",
            "provisions: [GCIII 13(1)]\n    unverified: [CA3 paragraph numbers]",
        )
        .map(|_| ());
        assert!(matches!(err, Err(TaxonomyError::UnverifiedNotCited { .. })));
        // A capitalised article is a citation, not a remark.
        let err = with("unverified: [CA3(1)(a)]", "unverified: [GCIII Art. 13]").map(|_| ());
        assert!(matches!(err, Err(TaxonomyError::UnverifiedNotCited { .. })));
        // A remark on a cited instrument is accepted.
        let taxonomy = with(
            "unverified: [CA3(1)(a)]",
            "unverified: [GCIII paragraph numbers]",
        )
        .expect("valid");
        let entry = taxonomy.get("pow.violence").expect("present");
        assert!(!entry.is_verified(&provision("GCIII 13(1)")));
        assert!(entry.is_verified(&provision("CA3(1)(a)")));
    }

    #[test]
    fn bad_provision_strings() {
        for (bad, reason) in [
            ("\"\"", ProvisionError::Empty),
            ("GCIII", ProvisionError::NoArticle),
            ("13(1)", ProvisionError::BadInstrument("13".into())),
            ("\"(1)(a)\"", ProvisionError::BadInstrument(String::new())),
            ("GC-III 13", ProvisionError::BadInstrument("GC-III".into())),
        ] {
            let err = with("[GCIII 13(2)]", &format!("[{bad}]"))
                .map(|_| ())
                .expect_err(bad);
            match err {
                TaxonomyError::BadProvision {
                    id, reason: got, ..
                } => {
                    assert_eq!(id, "media.images");
                    assert_eq!(got, reason, "{bad}");
                }
                other => panic!("{bad}: {other}"),
            }
        }
        // A number where a citation belongs is read as text, then refused.
        let err = with("[GCIII 13(2)]", "[13]").map(|_| ());
        assert!(matches!(err, Err(TaxonomyError::BadProvision { .. })));
    }

    #[test]
    fn empty_fields() {
        for (find, replace, id, field) in [
            ("label: Violence", "label: \"\"", "pow.violence", "label"),
            ("label: Images", "label: \"  \"", "media.images", "label"),
            ("desc: Blows.", "desc: \"\"", "pow.violence", "desc"),
            (
                "{id: pow, label: Prisoners}",
                "{id: pow, label: \"\"}",
                "pow",
                "label",
            ),
            ("[GCIII 13(2)]", "[]", "media.images", "provisions"),
            (
                "GCIII: Geneva Convention III",
                "GCIII: \"\"",
                "GCIII",
                "abbreviation name",
            ),
        ] {
            let err = with(find, replace).map(|_| ()).expect_err(replace);
            assert_eq!(
                err,
                TaxonomyError::Empty {
                    id: id.into(),
                    field
                },
                "{replace}"
            );
        }
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        for (find, replace) in [
            ("    unverified: [CA3(1)(a)]", "    unverifed: [CA3(1)(a)]"),
            ("provisions: [GCIII 13(2)]", "provisions: GCIII 13(2)"),
            ("    desc: Publishing faces.\n", "\n"),
            ("scope: test", "scope: [a, b]"),
            ("entries:", "entries: 3\nx:"),
            ("version: 1", "version: 1\nversion: 2"),
            (
                "  CA3: Common Article 3",
                "  CA3: Common Article 3\n  CA3: Again",
            ),
            (
                "    desc: Blows.",
                "    desc: Blows.\n    xwalk: {a: x, a: y}",
            ),
            (
                "  - {id: pow, label: Prisoners}",
                "  - {id: pow, label: Prisoners, x: 1}",
            ),
            ("desc: Blows.", "desc: [unclosed"),
        ] {
            let err = with(find, replace).map(|_| ()).expect_err(replace);
            assert_eq!(err.code(), "yaml", "{replace}: {err}");
        }
        for text in [
            "",
            "\0",
            "[",
            "- a\n- b",
            "version: 1",
            "{{{{",
            "\u{feff}",
            "&a [*a]",
        ] {
            assert!(Taxonomy::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn truncated_or_damaged_files_never_panic() {
        let mut refused = 0;
        for (at, _) in IHL_YAML.char_indices().step_by(23) {
            refused += usize::from(Taxonomy::parse(&IHL_YAML[..at]).is_err());
            let damaged: String = IHL_YAML
                .char_indices()
                .map(|(i, c)| if i == at { '[' } else { c })
                .collect();
            let _ = Taxonomy::parse(&damaged);
        }
        assert!(refused > 100);
    }
}
