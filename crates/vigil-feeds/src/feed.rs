//! RSS (2.0, and the 0.9x and 1.0 dialects) and Atom 1.0 feeds, read as a stream of XML events
//! by quick-xml: memory is the current element path plus the fields of one item.
//!
//! quick-xml never expands entities on its own; we resolve the five XML entities, character
//! references and, for the many feeds that use them undeclared, HTML's named entities (a fixed
//! table). A document type declaration is refused outright ([`FeedError::Doctype`]), so no
//! entity declared in one is expanded and no external one is fetched.

use std::borrow::Cow;

use html5ever::data::NAMED_ENTITIES;
use quick_xml::NsReader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use url::Url;

use crate::dom::{self, Budget, TextOptions};
use crate::util::{
    MediaList, absolute_http, check_size, clip, finish_text, join_parts, media_kind, one_line,
    parse_date, resolve_http, same_host,
};
use crate::{
    FeedError, FeedPage, MAX_FIELD_BYTES, MAX_NESTING_DEPTH, MAX_POSTS_PER_PAGE, MAX_TEXT_BYTES,
    MediaRefKind, Post,
};

/// The most raw text (HTML source included) kept of one field; the rest is cut and the text
/// marked as truncated.
const MAX_RAW_FIELD: usize = 1024 * 1024;

/// The namespaces whose elements we read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ns {
    /// No namespace: RSS 0.9x/2.0 (and RSS 1.0's own namespace).
    Plain,
    Atom,
    Media,
    Dc,
    Content,
    Rdf,
    Other,
}

fn ns_of(resolved: &ResolveResult<'_>, prefixed: bool) -> Ns {
    match resolved {
        ResolveResult::Unbound => Ns::Plain,
        ResolveResult::Bound(ns) => match ns.as_ref() {
            b"http://www.w3.org/2005/Atom" | b"http://purl.org/atom/ns#" => Ns::Atom,
            b"http://search.yahoo.com/mrss/" | b"http://search.yahoo.com/mrss" => Ns::Media,
            b"http://purl.org/dc/elements/1.1/" => Ns::Dc,
            b"http://purl.org/rss/1.0/modules/content/" => Ns::Content,
            b"http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            // RSS 1.0, RSS 0.90, and any other default namespace on unprefixed elements.
            _ if !prefixed => Ns::Plain,
            _ => Ns::Other,
        },
        // Sloppy feeds use the usual prefixes without declaring them.
        ResolveResult::Unknown(prefix) => match prefix.as_slice() {
            b"atom" => Ns::Atom,
            b"media" => Ns::Media,
            b"dc" => Ns::Dc,
            b"content" => Ns::Content,
            b"rdf" => Ns::Rdf,
            _ => Ns::Other,
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
}

/// How a field's text is to be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// HTML source, escaped in the XML (RSS descriptions, Atom `type="html"`).
    Html,
    /// XHTML elements inline in the XML (Atom `type="xhtml"`): kept as markup.
    Xhtml,
}

fn atom_kind(e: &BytesStart<'_>) -> Kind {
    match attr(e, "type").as_deref().map(str::trim) {
        Some("html" | "text/html") => Kind::Html,
        Some("xhtml" | "application/xhtml+xml") => Kind::Xhtml,
        _ => Kind::Plain,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    ChannelTitle,
    FeedAuthorName,
    Title,
    Link,
    Guid,
    AtomId,
    Description,
    Content,
    Summary,
    MediaDescription,
    PubDate,
    DcDate,
    Published,
    Updated,
    Author,
    Creator,
    AuthorName,
}

struct Capture {
    field: Field,
    /// Stack depth of the element whose text this is.
    depth: usize,
    kind: Kind,
    buf: String,
    full: bool,
}

impl Capture {
    fn push(&mut self, s: &str) {
        if self.full {
            return;
        }
        let room = MAX_RAW_FIELD.saturating_sub(self.buf.len());
        if s.len() > room {
            self.buf.push_str(clip(s, room));
            self.full = true;
        } else {
            self.buf.push_str(s);
        }
    }

    /// Text content: escaped again when the field is kept as markup.
    fn push_text(&mut self, s: &str) {
        if self.kind == Kind::Xhtml {
            self.push(&escape_html(s));
        } else {
            self.push(s);
        }
    }
}

fn escape_html(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A field's text and how to read it.
type Text = (String, Kind, bool);

/// One item or entry, as read so far.
#[derive(Default)]
struct Item {
    depth: usize,
    title: Option<Text>,
    link: Option<String>,
    guid: Option<String>,
    guid_is_permalink: bool,
    atom_id: Option<String>,
    description: Option<Text>,
    content: Option<Text>,
    summary: Option<Text>,
    media_description: Option<Text>,
    pub_date: Option<String>,
    dc_date: Option<String>,
    published: Option<String>,
    updated: Option<String>,
    author: Option<String>,
    creator: Option<String>,
    author_name: Option<String>,
    media: MediaList,
}

struct Parser<'b> {
    base: &'b Url,
    budget: Budget,
    format: Option<Format>,
    /// The open elements: namespace and local name.
    stack: Vec<(Ns, String)>,
    item: Option<Item>,
    capture: Option<Capture>,
    /// Depth of the Atom `<author>` being read, at feed or entry level.
    author_depth: Option<usize>,
    title: Option<String>,
    feed_author: Option<String>,
    older: Option<Url>,
    posts: Vec<Post>,
}

/// The value of an unprefixed attribute, XML entities resolved (or, when that fails, as
/// written).
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes() && a.key.prefix().is_none())
        .map(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(Cow::into_owned)
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned())
        })
}

/// Decodes the bytes: a byte-order mark, else the XML declaration's encoding (feeds in
/// windows-1251 and the like exist), else UTF-8. Invalid sequences become U+FFFD.
fn decode(xml: &[u8]) -> Cow<'_, str> {
    let declared = declared_encoding(xml)
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        // A document whose declaration we could read as ASCII is not UTF-16.
        .filter(|e| *e != encoding_rs::UTF_16LE && *e != encoding_rs::UTF_16BE)
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = declared.decode(xml);
    text
}

fn declared_encoding(xml: &[u8]) -> Option<String> {
    let head = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let head = head.get(..head.len().min(256))?;
    let head = std::str::from_utf8(head.get(..head.iter().position(|b| *b == b'>')?)?).ok()?;
    let head = head.trim_start().strip_prefix("<?xml")?;
    let rest = head.get(head.find("encoding")? + "encoding".len()..)?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let rest = rest.get(1..)?;
    Some(rest.get(..rest.find(quote)?)?.trim().to_owned())
}

fn xml_error(e: impl std::fmt::Display, position: u64) -> FeedError {
    FeedError::Xml(format!("{e} (at byte {position})"))
}

/// Parses an RSS or Atom feed fetched from `base` (which resolves relative links).
///
/// RSS: each `item` is a post; its id is the `guid`, else the `link`; its URL the `link`, else
/// a permalink `guid`; text is the `title` and the `content:encoded` (else `description`) turned
/// from HTML into plain text; time `pubDate` (else `dc:date`); author `dc:creator` (else
/// `author`); media the `enclosure`s, `media:content`, `media:thumbnail` and the images of the
/// description. Atom: each `entry`, with `id`, `link rel="alternate"`, `title`, `content` (else
/// `summary`), `published` (else `updated`), `author/name` (else the feed's), and
/// `link rel="enclosure"` and Media RSS as media. Items with neither id nor URL are skipped.
///
/// The XML must be well-formed ([`FeedError::Xml`] otherwise, truncation included); a DOCTYPE
/// is refused ([`FeedError::Doctype`]). The encoding comes from a byte-order mark or the XML
/// declaration, else UTF-8; bytes invalid in it become U+FFFD.
pub fn parse_feed(xml: &[u8], base: &Url) -> Result<FeedPage, FeedError> {
    check_size(xml)?;
    let text = decode(xml);
    let mut reader = NsReader::from_str(&text);
    let config = reader.config_mut();
    config.allow_dangling_amp = true;
    config.trim_text(false);
    config.expand_empty_elements = false;
    config.check_end_names = true;
    let mut parser = Parser {
        base,
        budget: Budget::new(),
        format: None,
        stack: Vec::new(),
        item: None,
        capture: None,
        author_depth: None,
        title: None,
        feed_author: None,
        older: None,
        posts: Vec::new(),
    };
    loop {
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| xml_error(e, position))?;
        let prefixed = match &event {
            Event::Start(e) | Event::Empty(e) => e.name().prefix().is_some(),
            _ => false,
        };
        let ns = ns_of(&resolved, prefixed);
        match event {
            Event::DocType(_) => return Err(FeedError::Doctype),
            Event::Start(e) => parser.start(ns, &e, false)?,
            Event::Empty(e) => {
                parser.start(ns, &e, true)?;
                parser.end(true)?;
            }
            Event::End(_) => parser.end(false)?,
            Event::Text(t) => {
                let t = t.xml10_content().map_err(|e| xml_error(e, position))?;
                parser.text(&t);
            }
            Event::CData(t) => {
                let t = t.xml10_content().map_err(|e| xml_error(e, position))?;
                parser.text(&t);
            }
            Event::GeneralRef(r) => parser.entity(&r),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if let Some((_, open)) = parser.stack.last() {
        return Err(FeedError::Xml(format!(
            "the document ends inside <{open}>: truncated"
        )));
    }
    if parser.format.is_none() {
        return Err(FeedError::Xml("no root element".into()));
    }
    Ok(FeedPage {
        title: parser.title,
        posts: parser.posts,
        older: parser.older,
    })
}

impl Parser<'_> {
    fn start(&mut self, ns: Ns, e: &BytesStart<'_>, empty: bool) -> Result<(), FeedError> {
        if self.stack.len() >= MAX_NESTING_DEPTH {
            return Err(FeedError::TooComplex("XML nested too deeply"));
        }
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let depth = self.stack.len();
        if let Some(capture) = &mut self.capture {
            // Markup inside a field: kept for HTML, dropped for plain text.
            if capture.kind != Kind::Plain {
                let mut tag = format!("<{local}");
                for a in e.attributes().with_checks(false).flatten() {
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(Cow::into_owned)
                        .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
                    tag.push_str(&format!(" {key}=\"{}\"", escape_html(&value)));
                }
                tag.push_str(if empty { "/>" } else { ">" });
                capture.push(&tag);
            }
            self.stack.push((ns, local));
            return Ok(());
        }
        let parent_is_channel = self.stack.last().is_some_and(|(_, l)| l == "channel");
        match self.format {
            None => {
                self.format = Some(match (ns, local.as_str()) {
                    (_, "rss" | "RDF") => Format::Rss,
                    (_, "feed") => Format::Atom,
                    _ => {
                        return Err(FeedError::Xml(format!(
                            "the root element is <{local}>, not <rss>, <rdf:RDF> or <feed>"
                        )));
                    }
                });
            }
            Some(format) => match &mut self.item {
                None => self.start_outside_item(format, ns, &local, parent_is_channel, depth, e),
                Some(item) => {
                    let field = item_field(
                        self.base,
                        format,
                        ns,
                        &local,
                        depth.saturating_sub(item.depth),
                        e,
                        item,
                    );
                    if let Some((field, kind)) = field {
                        self.begin(field, kind, depth);
                    } else if format == Format::Atom
                        && ns == Ns::Atom
                        && local == "author"
                        && depth == item.depth + 1
                    {
                        self.author_depth = Some(depth);
                    } else if ns == Ns::Atom
                        && local == "name"
                        && self.author_depth.is_some_and(|a| a + 1 == depth)
                    {
                        self.begin(Field::AuthorName, Kind::Plain, depth);
                    } else if ns == Ns::Media {
                        self.media(&local, e);
                    }
                }
            },
        }
        self.stack.push((ns, local));
        Ok(())
    }

    fn start_outside_item(
        &mut self,
        format: Format,
        ns: Ns,
        local: &str,
        parent_is_channel: bool,
        depth: usize,
        e: &BytesStart<'_>,
    ) {
        let starts_item = match format {
            Format::Rss => local == "item" && ns == Ns::Plain,
            Format::Atom => local == "entry" && ns == Ns::Atom,
        };
        if starts_item {
            self.item = Some(Item {
                depth,
                guid_is_permalink: true,
                ..Item::default()
            });
            return;
        }
        match (format, ns, local) {
            (Format::Rss, Ns::Plain, "title") if parent_is_channel => {
                self.begin(Field::ChannelTitle, Kind::Plain, depth);
            }
            (Format::Atom, Ns::Atom, "title") if depth == 1 => {
                self.begin(Field::ChannelTitle, atom_kind(e), depth);
            }
            (Format::Atom, Ns::Atom, "author") if depth == 1 => self.author_depth = Some(depth),
            (Format::Atom, Ns::Atom, "name")
                if self.author_depth.is_some_and(|a| a + 1 == depth) =>
            {
                self.begin(Field::FeedAuthorName, Kind::Plain, depth);
            }
            (_, Ns::Atom, "link") if self.older.is_none() => {
                let rel = attr(e, "rel").unwrap_or_default();
                if rel
                    .split_ascii_whitespace()
                    .any(|r| r == "next" || r == "prev-archive")
                {
                    self.older = attr(e, "href")
                        .and_then(|h| resolve_http(self.base, &h))
                        .and_then(|u| same_host(self.base, u));
                }
            }
            _ => {}
        }
    }

    fn begin(&mut self, field: Field, kind: Kind, depth: usize) {
        self.capture = Some(Capture {
            field,
            depth,
            kind,
            buf: String::new(),
            full: false,
        });
    }

    /// Media RSS inside an item, at any depth (`media:group` holds them).
    fn media(&mut self, local: &str, e: &BytesStart<'_>) {
        let Some(item) = &mut self.item else { return };
        let kind = match local {
            "content" => None,
            "thumbnail" => Some(MediaRefKind::Image),
            _ => return,
        };
        if let Some(url) = attr(e, "url").and_then(|u| resolve_http(self.base, &u)) {
            let kind = kind.unwrap_or_else(|| {
                media_kind(
                    attr(e, "type").as_deref(),
                    attr(e, "medium").as_deref(),
                    url.as_str(),
                )
            });
            item.media.push(url, kind);
        }
    }

    /// The end of the innermost open element (`empty`: it was `<x/>`, so has no end tag).
    fn end(&mut self, empty: bool) -> Result<(), FeedError> {
        let Some((_, local)) = self.stack.pop() else {
            return Err(FeedError::Xml("an end tag without a start".into()));
        };
        let depth = self.stack.len();
        if let Some(capture) = &mut self.capture {
            if capture.depth != depth {
                if capture.kind != Kind::Plain && !empty {
                    capture.push(&format!("</{local}>"));
                }
                return Ok(());
            }
            if let Some(capture) = self.capture.take() {
                self.finish_capture(capture);
            }
        }
        if self.author_depth == Some(depth) {
            self.author_depth = None;
        }
        if self.item.as_ref().is_some_and(|i| i.depth == depth)
            && let Some(item) = self.item.take()
            && self.posts.len() < MAX_POSTS_PER_PAGE
            && let Some(post) = self.finish_item(item)?
        {
            self.posts.push(post);
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        if let Some(capture) = &mut self.capture {
            capture.push_text(text);
        }
    }

    fn entity(&mut self, r: &BytesRef<'_>) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        let Ok(name) = r.decode() else { return };
        if r.is_char_ref() {
            match r.resolve_char_ref() {
                Ok(Some(c)) => capture.push_text(c.encode_utf8(&mut [0; 4])),
                _ => capture.push(&format!("&{name};")),
            }
            return;
        }
        let resolved = match name.as_ref() {
            "lt" => Some("<".to_owned()),
            "gt" => Some(">".to_owned()),
            "amp" => Some("&".to_owned()),
            "apos" => Some("'".to_owned()),
            "quot" => Some("\"".to_owned()),
            name => html_entity(name),
        };
        match resolved {
            Some(s) => capture.push_text(&s),
            // Unknown: kept as written.
            None => capture.push(&escape_if_markup(capture.kind, &format!("&{name};"))),
        }
    }

    fn finish_capture(&mut self, capture: Capture) {
        let Capture {
            field,
            kind,
            buf,
            full,
            ..
        } = capture;
        if field == Field::ChannelTitle {
            self.title = self.title.take().or_else(|| self.plain_line(&buf, kind));
            return;
        }
        if field == Field::FeedAuthorName {
            self.feed_author = self.feed_author.take().or_else(|| one_line(&buf));
            return;
        }
        let Some(item) = &mut self.item else { return };
        let line = || Some(buf.trim().to_owned()).filter(|s| !s.is_empty());
        let text = || Some((buf.clone(), kind, full));
        match field {
            Field::Title => set(&mut item.title, text()),
            Field::Link => set(&mut item.link, line()),
            Field::Guid => set(&mut item.guid, line()),
            Field::AtomId => set(&mut item.atom_id, line()),
            Field::Description => set(&mut item.description, text()),
            Field::Content => set(&mut item.content, text()),
            Field::Summary => set(&mut item.summary, text()),
            Field::MediaDescription => set(&mut item.media_description, text()),
            Field::PubDate => set(&mut item.pub_date, line()),
            Field::DcDate => set(&mut item.dc_date, line()),
            Field::Published => set(&mut item.published, line()),
            Field::Updated => set(&mut item.updated, line()),
            Field::Author => set(&mut item.author, one_line(&buf)),
            Field::Creator => set(&mut item.creator, one_line(&buf)),
            Field::AuthorName => set(&mut item.author_name, one_line(&buf)),
            Field::ChannelTitle | Field::FeedAuthorName => {}
        }
    }

    /// A title that may be HTML, as one line of text.
    fn plain_line(&self, text: &str, kind: Kind) -> Option<String> {
        match kind {
            Kind::Plain => one_line(text),
            Kind::Html | Kind::Xhtml => {
                let dom = dom::parse_str(clip(text, MAX_FIELD_BYTES * 4), &self.budget).ok()?;
                one_line(&dom.text(dom.root(), &self.text_options(false)).text)
            }
        }
    }

    fn text_options(&self, images: bool) -> TextOptions<'_> {
        TextOptions {
            base: self.base,
            limit: MAX_TEXT_BYTES,
            images,
        }
    }

    /// A field as text; HTML rendered, its images added to `media`.
    fn render(
        &self,
        (text, kind, cut): &Text,
        media: &mut MediaList,
    ) -> Result<(String, bool), FeedError> {
        match kind {
            Kind::Plain => Ok((
                clip(text.trim(), MAX_TEXT_BYTES).to_owned(),
                *cut || text.len() > MAX_TEXT_BYTES,
            )),
            Kind::Html | Kind::Xhtml => {
                let dom = dom::parse_str(text, &self.budget)?;
                let rendered = dom.text(dom.root(), &self.text_options(true));
                for image in rendered.images {
                    media.push(image, MediaRefKind::Image);
                }
                Ok((rendered.text, *cut || rendered.truncated))
            }
        }
    }

    fn finish_item(&self, mut item: Item) -> Result<Option<Post>, FeedError> {
        let base = self.base;
        let link = item.link.as_deref().and_then(|l| resolve_http(base, l));
        let link_id = link.as_ref().map(|l| l.to_string());
        let guid_url = item
            .guid
            .as_deref()
            .filter(|_| item.guid_is_permalink)
            .and_then(absolute_http);
        let id_url = item.atom_id.as_deref().and_then(absolute_http);
        let title = match &item.title {
            Some(title) => self.render(title, &mut MediaList::default())?.0,
            None => String::new(),
        };
        let title = one_line(&title).unwrap_or_default();
        let body = item
            .content
            .as_ref()
            .or(item.description.as_ref())
            .or(item.summary.as_ref())
            .or(item.media_description.as_ref());
        let (body, cut) = match body {
            Some(body) => self.render(body, &mut item.media)?,
            None => (String::new(), false),
        };
        let Some(url) = link
            .or(guid_url)
            .or(id_url)
            .map(String::from)
            .or_else(|| item.media.first_url().map(str::to_owned))
        else {
            return Ok(None);
        };
        let id = item
            .guid
            .take()
            .or(item.atom_id.take())
            .or(link_id)
            .unwrap_or_else(|| url.clone());
        if id.len() > MAX_FIELD_BYTES {
            return Ok(None);
        }
        let published_at = [
            &item.pub_date,
            &item.dc_date,
            &item.published,
            &item.updated,
        ]
        .into_iter()
        .flatten()
        .find_map(|d| parse_date(d));
        let author = item
            .creator
            .take()
            .or(item.author.take())
            .or(item.author_name.take())
            .or_else(|| self.feed_author.clone());
        Ok(Some(Post {
            id,
            url,
            author,
            published_at,
            text: finish_text(join_parts([title.as_str(), body.as_str()]), cut),
            media: item.media.into_vec(),
        }))
    }
}

fn set<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn escape_if_markup(kind: Kind, s: &str) -> String {
    if kind == Kind::Xhtml {
        escape_html(s).into_owned()
    } else {
        s.to_owned()
    }
}

/// An HTML named entity (`nbsp`, `eacute`, …), from html5ever's table.
fn html_entity(name: &str) -> Option<String> {
    if name.len() > 40 {
        return None;
    }
    let &(first, second) = NAMED_ENTITIES.get(&format!("{name};"))?;
    let mut out = String::new();
    out.push(char::from_u32(first).filter(|_| first != 0)?);
    if second != 0 {
        out.push(char::from_u32(second)?);
    }
    Some(out)
}

/// The field an element inside an item starts, if any; enclosures and links are recorded on
/// the item directly.
fn item_field(
    base: &Url,
    format: Format,
    ns: Ns,
    local: &str,
    relative_depth: usize,
    e: &BytesStart<'_>,
    item: &mut Item,
) -> Option<(Field, Kind)> {
    if ns == Ns::Media && local == "description" {
        let kind = match attr(e, "type").as_deref() {
            Some("html") => Kind::Html,
            _ => Kind::Plain,
        };
        return Some((Field::MediaDescription, kind));
    }
    if relative_depth != 1 {
        return None;
    }
    match (format, ns, local) {
        (_, Ns::Dc, "creator") => Some((Field::Creator, Kind::Plain)),
        (_, Ns::Dc, "date") => Some((Field::DcDate, Kind::Plain)),
        (_, Ns::Atom, "link") => {
            atom_link(base, e, item);
            None
        }
        (Format::Rss, Ns::Plain, "title") => Some((Field::Title, Kind::Plain)),
        (Format::Rss, Ns::Plain, "link") => Some((Field::Link, Kind::Plain)),
        (Format::Rss, Ns::Plain, "guid") => {
            item.guid_is_permalink =
                !attr(e, "isPermaLink").is_some_and(|p| p.trim().eq_ignore_ascii_case("false"));
            Some((Field::Guid, Kind::Plain))
        }
        (Format::Rss, Ns::Plain, "description") => Some((Field::Description, Kind::Html)),
        (Format::Rss, Ns::Content, "encoded") => Some((Field::Content, Kind::Html)),
        (Format::Rss, Ns::Plain, "pubDate") => Some((Field::PubDate, Kind::Plain)),
        (Format::Rss, Ns::Plain, "author") => Some((Field::Author, Kind::Plain)),
        (Format::Rss, Ns::Plain, "enclosure") => {
            enclosure(base, e, item, attr(e, "url"));
            None
        }
        (Format::Atom, Ns::Atom, "id") => Some((Field::AtomId, Kind::Plain)),
        (Format::Atom, Ns::Atom, "title") => Some((Field::Title, atom_kind(e))),
        (Format::Atom, Ns::Atom, "summary") => Some((Field::Summary, atom_kind(e))),
        (Format::Atom, Ns::Atom, "content") => Some((Field::Content, atom_kind(e))),
        (Format::Atom, Ns::Atom, "published") => Some((Field::Published, Kind::Plain)),
        (Format::Atom, Ns::Atom, "updated") => Some((Field::Updated, Kind::Plain)),
        _ => None,
    }
}

/// `<enclosure url type>` or `<link rel="enclosure" href type>`.
fn enclosure(base: &Url, e: &BytesStart<'_>, item: &mut Item, url: Option<String>) {
    let Some(url) = url.and_then(|u| resolve_http(base, &u)) else {
        return;
    };
    let kind = media_kind(attr(e, "type").as_deref(), None, url.as_str());
    item.media.push(url, kind);
}

fn atom_link(base: &Url, e: &BytesStart<'_>, item: &mut Item) {
    let rel = attr(e, "rel").unwrap_or_else(|| "alternate".into());
    match rel.trim() {
        "alternate" | "" if item.link.is_none() => item.link = attr(e, "href"),
        "enclosure" => enclosure(base, e, item, attr(e, "href")),
        _ => {}
    }
}
