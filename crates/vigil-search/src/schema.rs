//! The tantivy schema: which field holds what, and how it is indexed.

use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use crate::analysis::{Form, FormTokenizer};

/// Written into every commit; an index whose commits say otherwise was built by another
/// version of the analysis (different terms for the same text) and must be rebuilt.
pub(crate) const ANALYSIS_VERSION: &str = "vigil-search/1";

/// The searchable text fields of a document, each indexed in three forms; a fourth form
/// (prefixes) is shared by all of them in [`Fields::prefix`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct TextGroup {
    /// Normalised words with positions (stored: the original text, for titles and snippets).
    pub text: Field,
    /// Exact spellings where folding changed them.
    pub exact: Field,
    /// Stems that differ from the text terms.
    pub stem: Field,
    /// How much a match here weighs against a match in the body.
    pub boost: f32,
}

/// Every field of the schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// `kind:id`, the record a document belongs to (one document per collection holding it):
    /// upserts and deletes go by it.
    pub key: Field,
    /// `DocKind::as_str`: filter and facet; stored for hits.
    pub kind: Field,
    /// The record id, stored for hits.
    pub id: Field,
    /// The collection id (i64), for visibility.
    pub collection: Field,
    /// Whether the record is restricted.
    pub restricted: Field,
    /// Exact-value filters and facets.
    pub tag: Field,
    /// Exact-value filters and facets.
    pub status: Field,
    /// Exact-value filters and facets.
    pub platform: Field,
    /// Exact-value filters and facets.
    pub sensitivity: Field,
    /// First and last day a date may stand for, `YYYYMMDD`.
    pub date_first: Field,
    /// See `date_first`.
    pub date_last: Field,
    /// Title, body and names.
    pub title: TextGroup,
    /// See `title`.
    pub body: TextGroup,
    /// See `title`.
    pub names: TextGroup,
    /// Edge n-grams of every text field's words.
    pub prefix: Field,
}

/// Names of the fast fields the facet counts read, with the facet name each is reported under.
pub(crate) const FACETS: [(&str, &str); 5] = [
    ("kind", "kind"),
    ("tag", "tag"),
    ("status", "status"),
    ("platform", "platform"),
    ("sensitivity", "sensitivity"),
];

/// The fast field holding the last day of a document's date, for ordering filter-only searches.
pub(crate) const DATE_LAST: &str = "date_last";

fn text_options(form: Form, record: IndexRecordOption, stored: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(form.tokenizer_name())
        .set_index_option(record)
        .set_fieldnorms(form != Form::Prefix);
    let options = TextOptions::default().set_indexing_options(indexing);
    if stored {
        options.set_stored()
    } else {
        options
    }
}

fn add_group(builder: &mut tantivy::schema::SchemaBuilder, name: &str, boost: f32) -> TextGroup {
    TextGroup {
        text: builder.add_text_field(
            &format!("{name}_text"),
            text_options(Form::Text, IndexRecordOption::WithFreqsAndPositions, true),
        ),
        exact: builder.add_text_field(
            &format!("{name}_exact"),
            text_options(Form::Exact, IndexRecordOption::WithFreqs, false),
        ),
        stem: builder.add_text_field(
            &format!("{name}_stem"),
            text_options(Form::Stem, IndexRecordOption::WithFreqs, false),
        ),
        boost,
    }
}

/// Builds the schema and says where each field is.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let facet = || STRING.set_fast("raw");
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        kind: b.add_text_field("kind", facet() | STORED),
        id: b.add_text_field("id", STORED),
        collection: b.add_i64_field("collection", INDEXED),
        restricted: b.add_bool_field("restricted", INDEXED),
        tag: b.add_text_field("tag", facet()),
        status: b.add_text_field("status", facet()),
        platform: b.add_text_field("platform", facet()),
        sensitivity: b.add_text_field("sensitivity", facet()),
        date_first: b.add_i64_field(
            "date_first",
            NumericOptions::default().set_indexed().set_fast(),
        ),
        date_last: b.add_i64_field(
            DATE_LAST,
            NumericOptions::default().set_indexed().set_fast(),
        ),
        title: add_group(&mut b, "title", 2.0),
        body: add_group(&mut b, "body", 1.0),
        names: add_group(&mut b, "names", 2.0),
        prefix: b.add_text_field(
            "prefix",
            text_options(Form::Prefix, IndexRecordOption::Basic, false),
        ),
    };
    (b.build(), fields)
}

/// The tokenizers the schema names, to register with every index opened.
pub(crate) fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    for form in Form::ALL {
        manager.register(
            form.tokenizer_name(),
            TextAnalyzer::from(FormTokenizer::new(form)),
        );
    }
    manager
}
