//! How text becomes index terms, the same way for documents and for queries.
//!
//! Words are runs of letters and digits (Unicode's alphanumerics), with combining marks and a few
//! invisible or in-word characters kept inside the word rather than splitting it: soft hyphens and
//! zero-width characters (pasted text, and a way to dodge a naive search), and Armenian's
//! emphasis, exclamation, question and abbreviation marks, which are written *on* a word
//! (`ո՞վ` is the word `ով`). Each word is then normalised (NFC when it carries combining marks,
//! lowercased) with four fixes that Unicode's default lowercasing does not make:
//!
//! - `İ` becomes `i` (Azerbaijani and Turkish capital dotted I; Unicode gives `i` + U+0307);
//! - `ё` becomes `е` (Russian writes `ё` inconsistently; every Russian search engine folds it);
//! - the Armenian ligature `և` becomes `եվ` (its capital form is the two letters `ԵՎ`);
//! - in a word that mixes Cyrillic and Latin letters, Latin look-alikes (`a c e o p x y` and the
//!   lowercased capitals `b h k m t`) become the Cyrillic letters they imitate, so `пленныe`
//!   typed with a Latin `e` is `пленные`.
//!
//! A normalised word then gives the terms of four index forms ([`Form`]):
//!
//! - **text**: the normalised word; for Latin-script words also folded to ASCII with
//!   Azerbaijani's letters mapped as people write them without an Azerbaijani keyboard
//!   (`ş→s ç→c ğ→g ö→o ü→u ı→i`). `ə` has two customary spellings, so a word with `ə` gives
//!   two terms at the same position: `Əliyev` is both `aliyev` (English and Russian renderings:
//!   Aliyev, Алиев) and `eliyev` (informal Azerbaijani typing);
//! - **exact**: the lowercased word before folding, only where folding changed it, so a search
//!   typed with the right diacritics ranks the exactly spelled record first;
//! - **stem**: Snowball stems: Russian for Cyrillic words, Armenian for Armenian words, English
//!   and Turkish for Latin words (Turkish stands in for Azerbaijani, whose suffixes follow the
//!   same vowel harmony: `ə` is read as `e` before stemming, so `əsirlər` stems to `esir`). Only
//!   stems that differ from the word's text terms are indexed: the others are text terms already,
//!   and a query looks its stems up in both forms;
//!   The Turkish stemmer also runs on English words (a word's language is not known); its
//!   occasional odd stem (`executed` → `executedi`) is only an extra term;
//! - **prefix**: edge n-grams of the text terms, 3 to 12 characters, so that a word of 4
//!   characters or more also finds the longer words it begins, as a low-scoring fallback
//!   (`գերի` finds `գերիներ`: the Armenian stemmer leaves the plural `-ներ` on; `пленн` finds
//!   `пленного`), and `word*` (3 characters or more) is one term lookup.
//!
//! Function words of the four languages ([`WordTerms::is_stop_word`]) are indexed like any
//! word; queries make them optional when other words are present.

use std::borrow::Cow;

use frostem::{Algorithm, Stemmer};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;

/// Shortest prefix that is indexed: shorter prefixes would match too much to be useful.
pub(crate) const MIN_GRAM: usize = 3;
/// A plain word also finds the longer words it begins from this length on (`word*` from
/// [`MIN_GRAM`]): a three-letter word's continuations are mostly other words (`war`, `warning`).
pub(crate) const MIN_IMPLICIT_PREFIX: usize = 4;
/// Longest indexed prefix; a longer `word*` is answered by a regular expression on the terms.
pub(crate) const MAX_GRAM: usize = 12;
/// Longer "words" (base64, hashes, runs of letters) are not indexed: nobody searches them by
/// typing, and they would bloat the term dictionary.
pub(crate) const MAX_WORD_CHARS: usize = 64;
/// Text indexed per field value; the rest of a longer text is not searchable (it is stored).
pub(crate) const MAX_FIELD_BYTES: usize = 1 << 20;
/// Stems shorter than this are dropped: a one-letter stem matches half the vocabulary.
const MIN_STEM_CHARS: usize = 2;

/// The writing system of a word, which decides how it is folded and stemmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Script {
    /// Armenian letters (U+0530–U+058F, the ligatures at U+FB13–U+FB17).
    Armenian,
    /// Cyrillic letters (U+0400–U+052F).
    Cyrillic,
    /// Latin letters, ASCII or accented, `ə` included.
    Latin,
    /// Digits or other scripts: indexed as written, never stemmed.
    Other,
}

/// The four index forms of a text field; each has its own tantivy field and tokenizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// Normalised words, Latin ones folded; with positions (phrases are matched here).
    Text,
    /// Lowercased spellings that folding changed.
    Exact,
    /// Snowball stems that differ from the text terms.
    Stem,
    /// Edge n-grams of the text terms.
    Prefix,
}

impl Form {
    /// Name under which the tokenizer of this form is registered with tantivy.
    pub(crate) fn tokenizer_name(self) -> &'static str {
        match self {
            Form::Text => "vigil_text",
            Form::Exact => "vigil_exact",
            Form::Stem => "vigil_stem",
            Form::Prefix => "vigil_prefix",
        }
    }

    /// Every form, for registering tokenizers.
    pub(crate) const ALL: [Form; 4] = [Form::Text, Form::Exact, Form::Stem, Form::Prefix];
}

/// Characters dropped inside a word instead of ending it.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'          // soft hyphen
        | '\u{200B}'
            ..='\u{200D}' // zero-width space, non-joiner, joiner
        | '\u{2060}'        // word joiner
        | '\u{FEFF}'        // zero-width no-break space
        | '\u{055B}'        // Armenian emphasis mark
        | '\u{055C}'        // Armenian exclamation mark
        | '\u{055E}'        // Armenian question mark
        | '\u{055F}' // Armenian abbreviation mark
    )
}

/// Combining marks that continue a word (decomposed accents, Cyrillic titlo).
fn is_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Calls `f(start, end)` with the byte range of every word of `text`, in order.
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            last_end = i + c.len_utf8();
        } else if start.is_some() && (is_mark(c) || is_ignorable(c)) {
            // Inside a word: keep going. A trailing mark still belongs to the word.
            if is_mark(c) {
                last_end = i + c.len_utf8();
            }
        } else if let Some(s) = start.take() {
            f(s, last_end);
        }
    }
    if let Some(s) = start {
        f(s, last_end);
    }
}

/// Latin look-alikes of Cyrillic letters, lowercase (capitals are lowercased first).
fn cyrillic_lookalike(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        _ => return None,
    })
}

fn is_armenian(c: char) -> bool {
    matches!(c, '\u{0530}'..='\u{058F}' | '\u{FB13}'..='\u{FB17}')
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}' | '\u{1C80}'..='\u{1C8F}' | '\u{2DE0}'..='\u{2DFF}' | '\u{A640}'..='\u{A69F}')
}

fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (matches!(c, '\u{00C0}'..='\u{024F}' | '\u{0250}'..='\u{02AF}' | '\u{1E00}'..='\u{1EFF}')
            && c.is_alphabetic())
}

/// Normalises one word (as found by [`for_each_word`]) into `out` and says its script.
pub(crate) fn normalize(word: &str, out: &mut String) -> Script {
    out.clear();
    let composed: Cow<'_, str> = if word.chars().any(is_mark) {
        Cow::Owned(word.chars().filter(|c| !is_ignorable(*c)).nfc().collect())
    } else {
        Cow::Borrowed(word)
    };
    let (mut armenian, mut cyrillic, mut latin) = (false, false, false);
    for c in composed.chars() {
        if is_ignorable(c) {
            continue;
        }
        match c {
            'İ' => out.push('i'),
            'ё' | 'Ё' => out.push('е'),
            'և' => out.push_str("եվ"),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
        armenian |= is_armenian(c);
        cyrillic |= is_cyrillic(c);
        latin |= is_latin_letter(c);
    }
    if armenian {
        Script::Armenian
    } else if cyrillic {
        if latin {
            let mapped: String = out
                .chars()
                .map(|c| cyrillic_lookalike(c).unwrap_or(c))
                .collect();
            *out = mapped;
        }
        Script::Cyrillic
    } else if latin {
        Script::Latin
    } else {
        Script::Other
    }
}

/// Folds a lowercased Latin word to ASCII as Azerbaijani, Turkish and other Latin-script names
/// are commonly typed; `schwa` says what `ə` becomes (`a` or `e`).
fn fold_latin(lower: &str, schwa: char, out: &mut String) {
    out.clear();
    if lower.is_ascii() {
        out.push_str(lower);
        return;
    }
    for c in lower.chars() {
        match c {
            'ə' => out.push(schwa),
            'ı' => out.push('i'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            'ħ' => out.push('h'),
            c if c.is_ascii() => out.push(c),
            c => {
                for d in std::iter::once(c).nfd() {
                    if !is_mark(d) {
                        out.push(d);
                    }
                }
            }
        }
    }
}

/// The Snowball stemmers this crate uses; `frostem::Stemmer` is `Copy` and cheap to build.
#[derive(Clone, Copy)]
struct Stemmers {
    english: Stemmer,
    turkish: Stemmer,
    russian: Stemmer,
    armenian: Stemmer,
}

impl Stemmers {
    fn new() -> Self {
        Stemmers {
            english: Stemmer::new(Algorithm::English),
            turkish: Stemmer::new(Algorithm::Turkish),
            russian: Stemmer::new(Algorithm::Russian),
            armenian: Stemmer::new(Algorithm::Armenian),
        }
    }
}

/// Every term one word gives, in each form. Built by [`Analyzer::analyze`], buffers reused.
#[derive(Default, Debug, Clone)]
pub(crate) struct WordTerms {
    /// The script of the word.
    pub script: Option<Script>,
    /// The normalised (lowercased) word.
    pub lower: String,
    /// Text-form terms: one, or two for a Latin word with `ə` (`a` spelling first).
    pub text: Vec<String>,
    /// The lowercased word where folding changed it.
    pub exact: Option<String>,
    /// Every distinct stem, including those equal to a text term (queries need them all).
    pub stems: Vec<String>,
}

impl WordTerms {
    /// Stems that an index must hold in the stem form: those that are not text terms already.
    pub(crate) fn indexed_stems(&self) -> impl Iterator<Item = &str> {
        self.stems
            .iter()
            .map(String::as_str)
            .filter(|s| !self.text.iter().any(|t| t == s))
    }

    /// The term a prefix of this word is looked up by: its first text term, cut to
    /// [`MAX_GRAM`] characters. `None` below [`MIN_GRAM`] characters.
    pub(crate) fn prefix_key(&self) -> Option<&str> {
        self.prefix_key_from(MIN_GRAM)
    }

    /// [`WordTerms::prefix_key`] for a plain word's fallback: `None` below
    /// [`MIN_IMPLICIT_PREFIX`] characters.
    pub(crate) fn implicit_prefix_key(&self) -> Option<&str> {
        self.prefix_key_from(MIN_IMPLICIT_PREFIX)
    }

    fn prefix_key_from(&self, min_chars: usize) -> Option<&str> {
        let text = self.text.first()?;
        let chars = text.chars().count();
        if chars < min_chars {
            return None;
        }
        Some(match text.char_indices().nth(MAX_GRAM) {
            Some((cut, _)) => &text[..cut],
            None => text,
        })
    }
}

/// Function words of the four languages: in a query with other words they are optional (they
/// add to the score but are not required), so `prisoners of war` does not require `of`, and a
/// query does not have to walk the postings of half the index to require `и`.
const STOP_WORDS: &[&str] = &[
    // English
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "by",
    "for",
    "from",
    "in",
    "is",
    "it",
    "of",
    "on",
    "or",
    "that",
    "the",
    "this",
    "to",
    "was",
    "were",
    "with",
    // Russian
    "а",
    "в",
    "во",
    "и",
    "к",
    "ко",
    "на",
    "не",
    "но",
    "о",
    "об",
    "от",
    "по",
    "с",
    "со",
    "у",
    "что",
    "это",
    "как",
    "из",
    "за",
    "до",
    "же",
    "ли",
    "бы",
    // Armenian (`և` is normalised to `եվ`)
    "եվ",
    "է",
    "են",
    "էր",
    "ու",
    "ի",
    "որ",
    "այս",
    "այդ",
    "այն",
    "մի",
    "մեջ",
    "վրա",
    "հետ",
    "համար",
    // Azerbaijani
    "və",
    "ilə",
    "bu",
    "bir",
    "da",
    "də",
    "ki",
    "o",
    "üçün",
    "ya",
];

impl WordTerms {
    /// Whether the word is a function word ([`STOP_WORDS`]), compared before folding (so the
    /// Azerbaijani `iş` is not the English `is`).
    pub(crate) fn is_stop_word(&self) -> bool {
        STOP_WORDS.contains(&self.lower.as_str())
    }
}

/// Turns words into [`WordTerms`]; holds the stemmers and scratch buffers.
#[derive(Clone)]
pub(crate) struct Analyzer {
    stemmers: Stemmers,
    scratch: String,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            stemmers: Stemmers::new(),
            scratch: String::new(),
        }
    }
}

impl Analyzer {
    /// Analyses one word (a slice found by [`for_each_word`]) into `terms`. Returns false (and
    /// leaves `terms` empty) for a word that is not indexed: longer than [`MAX_WORD_CHARS`], or
    /// nothing left after normalisation.
    pub(crate) fn analyze(&mut self, word: &str, terms: &mut WordTerms) -> bool {
        terms.text.clear();
        terms.stems.clear();
        terms.exact = None;
        terms.script = None;
        let script = normalize(word, &mut terms.lower);
        let chars = terms.lower.chars().count();
        if chars == 0 || chars > MAX_WORD_CHARS {
            return false;
        }
        terms.script = Some(script);
        let stemmers = self.stemmers;
        match script {
            Script::Latin => {
                fold_latin(&terms.lower, 'a', &mut self.scratch);
                terms.text.push(self.scratch.clone());
                if terms.lower.contains('ə') {
                    fold_latin(&terms.lower, 'e', &mut self.scratch);
                    terms.text.push(self.scratch.clone());
                }
                if terms.text[0] != terms.lower {
                    terms.exact = Some(terms.lower.clone());
                }
                let english = stemmers.english.stem(&terms.text[0]).into_owned();
                push_stem(&mut terms.stems, english);
                // Azerbaijani through the Turkish stemmer: `ə` is a front vowel like Turkish `e`.
                let turkish_input = terms.lower.replace('ə', "e");
                let turkish = stemmers.turkish.stem(&turkish_input);
                fold_latin(&turkish, 'e', &mut self.scratch);
                push_stem(&mut terms.stems, self.scratch.clone());
            }
            Script::Cyrillic => {
                terms.text.push(terms.lower.clone());
                let stem = stemmers.russian.stem(&terms.lower).into_owned();
                push_stem(&mut terms.stems, stem);
            }
            Script::Armenian => {
                terms.text.push(terms.lower.clone());
                let stem = stemmers.armenian.stem(&terms.lower).into_owned();
                push_stem(&mut terms.stems, stem);
            }
            Script::Other => terms.text.push(terms.lower.clone()),
        }
        true
    }
}

fn push_stem(stems: &mut Vec<String>, stem: String) {
    if stem.chars().count() >= MIN_STEM_CHARS && !stems.contains(&stem) {
        stems.push(stem);
    }
}

/// Calls `f` with every edge n-gram ([`MIN_GRAM`]..=[`MAX_GRAM`] characters) of the word's
/// text terms, each once.
pub(crate) fn for_each_gram(terms: &WordTerms, mut f: impl FnMut(&str)) {
    let Some(first) = terms.text.first() else {
        return;
    };
    grams(first, 0, &mut f);
    // The `e` spelling of a word with `ə`: only the grams that differ from the `a` spelling's.
    for other in terms.text.iter().skip(1) {
        let same = first
            .chars()
            .zip(other.chars())
            .take_while(|(a, b)| a == b)
            .count();
        grams(other, same, &mut f);
    }
}

/// The edge n-grams of `word` longer than `skip` characters.
fn grams(word: &str, skip: usize, f: &mut impl FnMut(&str)) {
    for (n, (i, c)) in word.char_indices().enumerate() {
        let n = n + 1;
        if n > MAX_GRAM {
            break;
        }
        if n >= MIN_GRAM && n > skip {
            f(&word[..i + c.len_utf8()]);
        }
    }
}

/// A tantivy tokenizer that gives one [`Form`]'s terms of a text, so each form is its own field.
#[derive(Clone)]
pub(crate) struct FormTokenizer {
    form: Form,
    analyzer: Analyzer,
    terms: WordTerms,
    words: Vec<(usize, usize)>,
    tokens: Vec<Token>,
    len: usize,
}

impl FormTokenizer {
    /// A tokenizer for `form`.
    pub(crate) fn new(form: Form) -> Self {
        FormTokenizer {
            form,
            analyzer: Analyzer::default(),
            terms: WordTerms::default(),
            words: Vec::new(),
            tokens: Vec::new(),
            len: 0,
        }
    }

    fn push(&mut self, text: &str, position: usize, from: usize, to: usize) {
        if self.len == self.tokens.len() {
            self.tokens.push(Token::default());
        }
        let token = &mut self.tokens[self.len];
        token.text.clear();
        token.text.push_str(text);
        token.position = position;
        token.position_length = 1;
        token.offset_from = from;
        token.offset_to = to;
        self.len += 1;
    }

    fn fill(&mut self, text: &str) {
        self.len = 0;
        let text = truncate(text, MAX_FIELD_BYTES);
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        for_each_word(text, |s, e| words.push((s, e)));
        let mut position = 0;
        let mut terms = std::mem::take(&mut self.terms);
        for &(s, e) in &words {
            if !self.analyzer.analyze(&text[s..e], &mut terms) {
                continue;
            }
            match self.form {
                Form::Text => {
                    for t in &terms.text {
                        self.push(t, position, s, e);
                    }
                }
                Form::Exact => {
                    if let Some(exact) = &terms.exact {
                        self.push(exact, position, s, e);
                    }
                }
                Form::Stem => {
                    for stem in terms.indexed_stems() {
                        self.push(stem, position, s, e);
                    }
                }
                Form::Prefix => for_each_gram(&terms, |g| self.push(g, position, s, e)),
            }
            position += 1;
        }
        self.terms = terms;
        self.words = words;
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// The token stream of a [`FormTokenizer`]: its buffered tokens, in order.
pub(crate) struct FormTokenStream<'a> {
    tokens: &'a mut [Token],
    next: usize,
    /// What `token()` gives before the first `advance()` or for an empty text (tantivy does
    /// not ask then, but the trait allows it).
    none: Token,
}

impl FormTokenStream<'_> {
    fn current(&self) -> Option<usize> {
        self.next.checked_sub(1).filter(|i| *i < self.tokens.len())
    }
}

impl TokenStream for FormTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        match self.current() {
            Some(i) => &self.tokens[i],
            None => &self.none,
        }
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.current() {
            Some(i) => &mut self.tokens[i],
            None => &mut self.none,
        }
    }
}

impl Tokenizer for FormTokenizer {
    type TokenStream<'a> = FormTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> FormTokenStream<'a> {
        self.fill(text);
        FormTokenStream {
            tokens: &mut self.tokens[..self.len],
            next: 0,
            none: Token::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_word(text, |s, e| out.push(&text[s..e]));
        out
    }

    fn terms(word: &str) -> WordTerms {
        let mut t = WordTerms::default();
        assert!(
            Analyzer::default().analyze(word, &mut t),
            "{word} is indexed"
        );
        t
    }

    fn form(form: Form, text: &str) -> Vec<(String, usize)> {
        let mut tokenizer = FormTokenizer::new(form);
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    #[test]
    fn words_keep_in_word_marks_and_split_on_punctuation() {
        assert_eq!(
            words("Ո՞վ է, «գերի»։ пле\u{00AD}нный—war-crimes 2023"),
            [
                "Ո՞վ",
                "է",
                "գերի",
                "пле\u{00AD}нный",
                "war",
                "crimes",
                "2023"
            ]
        );
        assert_eq!(words("s\u{0327}əhid"), ["s\u{0327}əhid"]);
        assert_eq!(words("\u{0301}abc"), ["abc"]);
        assert!(words("*** \u{0000}\u{0007} ").is_empty());
    }

    #[test]
    fn lowercasing_armenian_cyrillic_and_turkic_letters() {
        let mut out = String::new();
        assert_eq!(normalize("ԱՐԱՄ", &mut out), Script::Armenian);
        assert_eq!(out, "արամ");
        assert_eq!(normalize("ՈՒՂԱՐԿ", &mut out), Script::Armenian);
        assert_eq!(out, "ուղարկ");
        normalize("Ո՞վ", &mut out);
        assert_eq!(out, "ով");
        normalize("և", &mut out);
        assert_eq!(out, "եվ");
        assert_eq!(normalize("ПЛЕННЫЙ", &mut out), Script::Cyrillic);
        assert_eq!(out, "пленный");
        normalize("Ёлка", &mut out);
        assert_eq!(out, "елка");
        assert_eq!(normalize("İLHAM", &mut out), Script::Latin);
        assert_eq!(out, "ilham");
        normalize("ƏLİYEV", &mut out);
        assert_eq!(out, "əliyev");
        // Decomposed input composes to the same word.
        normalize("s\u{0327}əhid", &mut out);
        assert_eq!(out, "şəhid");
        // A Latin `e` and `o` hidden in a Cyrillic word.
        assert_eq!(normalize("пленны\u{65}", &mut out), Script::Cyrillic);
        assert_eq!(out, "пленные");
        assert_eq!(normalize("2023", &mut out), Script::Other);
    }

    #[test]
    fn latin_words_fold_azerbaijani_letters_and_schwa_both_ways() {
        let t = terms("Əliyev");
        assert_eq!(t.text, ["aliyev", "eliyev"]);
        assert_eq!(t.exact.as_deref(), Some("əliyev"));
        assert_eq!(terms("QIZI").text, ["qizi"]);
        assert_eq!(terms("qızı").text, ["qizi"]);
        assert_eq!(terms("Şuşa").text, ["susa"]);
        assert_eq!(terms("Müller").text, ["muller"]);
        assert_eq!(terms("Aliyev").exact, None);
    }

    #[test]
    fn stems_by_script() {
        // Snowball's Russian stemmer takes the adjectival ending off whole: пленн|ого, пленн|ый.
        assert_eq!(terms("пленного").stems, ["плен"]);
        assert_eq!(terms("пленный").stems, ["плен"]);
        assert!(terms("prisoners").stems.contains(&"prison".to_owned()));
        assert!(
            terms("əsirlər").stems.contains(&"esir".to_owned()),
            "{:?}",
            terms("əsirlər").stems
        );
        assert!(terms("2023").stems.is_empty());
    }

    #[test]
    fn function_words_by_their_unfolded_spelling() {
        for stop in ["The", "и", "В", "և", "ԵՎ", "və", "ilə"] {
            assert!(terms(stop).is_stop_word(), "{stop}");
        }
        for word in ["iş", "war", "пленный", "գերի", "ve"] {
            assert!(!terms(word).is_stop_word(), "{word}");
        }
    }

    #[test]
    fn grams_are_edge_ngrams_of_text_terms() {
        let mut grams = Vec::new();
        for_each_gram(&terms("գերիներ"), |g| grams.push(g.to_owned()));
        assert_eq!(grams, ["գեր", "գերի", "գերին", "գերինե", "գերիներ"]);
        grams.clear();
        for_each_gram(&terms("Əli"), |g| grams.push(g.to_owned()));
        assert_eq!(grams, ["ali", "eli"]);
        grams.clear();
        for_each_gram(&terms("ab"), |g| grams.push(g.to_owned()));
        assert!(grams.is_empty());
        grams.clear();
        for_each_gram(&terms("abcdefghijklmnop"), |g| grams.push(g.to_owned()));
        assert_eq!(grams.last().map(String::as_str), Some("abcdefghijkl"));
        assert_eq!(terms("abcdefghijklmnop").prefix_key(), Some("abcdefghijkl"));
        assert_eq!(terms("war").prefix_key(), Some("war"));
        assert_eq!(terms("war").implicit_prefix_key(), None);
        assert_eq!(terms("գերի").implicit_prefix_key(), Some("գերի"));
    }

    #[test]
    fn tokenizers_share_positions_between_variants() {
        assert_eq!(
            form(Form::Text, "Ramil Əliyev"),
            [
                ("ramil".into(), 0),
                ("aliyev".into(), 1),
                ("eliyev".into(), 1)
            ]
        );
        assert_eq!(form(Form::Exact, "Ramil Əliyev"), [("əliyev".into(), 1)]);
        let long = "x".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(
            form(Form::Text, &format!("a {long} b")),
            [("a".into(), 0), ("b".into(), 1)]
        );
        assert!(form(Form::Text, "").is_empty());
        // Asking for a token before the first one, or of an empty text, does not panic.
        let mut tokenizer = FormTokenizer::new(Form::Text);
        let mut stream = tokenizer.token_stream("");
        assert_eq!(stream.token().text, "");
        assert!(!stream.advance());
        stream.token_mut().text.push('x');
    }
}
