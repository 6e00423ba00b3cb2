//! Vigil's taxonomy of alleged violations of international humanitarian law (IHL): the citable
//! list of what media of armed conflict can show (treatment of prisoners of war and detainees,
//! the dead, missing persons, ceasefires, publication of images of captives) that investigators
//! tag items and incidents with, each entry tied to the provisions that make it a violation.
//!
//! - [`Taxonomy`]: [`Taxonomy::load`] gives the taxonomy shipped in this crate ([`IHL_YAML`], a
//!   copy of the team's `shared/taxonomy/ihl.yaml`, embedded so the app works offline and on a
//!   clone without the shared folder); [`Taxonomy::parse`] reads and validates another file.
//!   Lookups: [`Taxonomy::get`], [`Taxonomy::entries_in`], [`Taxonomy::categories`],
//!   [`Taxonomy::search`] (for a tag picker).
//! - [`Entry`]: one kind of violation, with its [`Category`], its [`Provision`]s (which of them
//!   are still unverified: [`Entry::is_verified`]) and its [`LegalNote`]s.
//! - [`Provision`]: a citation such as "GCIII 13(1)-(2)" or "CA3(1)(a)", split into instrument
//!   and article; [`Provision::instrument_name`] gives the instrument's full name.
//! - [`LegalNote`] and [`Publisher`]: the two points of law the file's header says the software
//!   must reflect. A ceasefire violation is not itself a war crime (tag the underlying conduct
//!   too); publishing images of captives violates GC III 13(2) but is not by itself a war crime,
//!   and never applies to the office's own holdings.
//! - [`TaxonomyError`]: why a file was refused, naming the entry, with a stable code.
//!
//! The YAML is read with `serde_norway`, the maintained fork of `serde_yaml` 0.9 (which its
//! author has marked deprecated and no longer maintains): the same API and YAML 1.1 behaviour,
//! resolved from crates.io, and it builds cleanly here. `serde_yml` was not chosen: it carries an
//! unsoundness advisory and was archived.
//!
//! The crate does no I/O: the taxonomy is compiled in, other files are handed in as text.
//!
//! ```
//! use vigil_taxonomy::{LegalNote, Publisher, Taxonomy};
//!
//! let taxonomy = Taxonomy::load();
//! let entry = taxonomy.get("pow.violence").expect("a stable id");
//! assert_eq!(entry.parent, "pow");
//! for provision in &entry.provisions {
//!     let name = provision.instrument_name(taxonomy).unwrap_or("?");
//!     let checked = if entry.is_verified(provision) { "" } else { " (unverified)" };
//!     println!("{provision}{checked}: {name}");
//! }
//!
//! // A ceasefire violation is not itself a war crime: the app says so and asks for more tags.
//! let ceasefire = taxonomy.get("hostilities.ceasefire_violation").expect("a stable id");
//! assert_eq!(ceasefire.legal_notes(), [LegalNote::CeasefireNotWarCrime]);
//! assert_eq!(ceasefire.is_war_crime_in_itself(), Some(false));
//!
//! // Public curiosity depends on who published: never the office's own holdings.
//! let images = taxonomy.get("media.identifiable_pow_images").expect("a stable id");
//! assert!(images.may_apply_to(Publisher::PerpetratorSide));
//! assert!(!images.may_apply_to(Publisher::OwnOffice));
//!
//! // The tag picker.
//! let hits = taxonomy.search("mutilation");
//! assert_eq!(hits[0].id, "pow.mutilation");
//! ```

#![deny(missing_docs)]

mod error;
mod law;
mod provision;
mod taxonomy;

pub use error::TaxonomyError;
pub use law::{LegalNote, Publisher};
pub use provision::{Provision, ProvisionError};
pub use taxonomy::{Category, Entry, IHL_YAML, Taxonomy};
