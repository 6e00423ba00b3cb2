//! HTML parsed by html5ever (the browser-grade HTML5 tokenizer and tree builder) into a small
//! arena, with bounded work and memory, plus the queries and the HTML-to-text rendering the
//! parsers need.
//!
//! Bounds. The HTML5 tree-construction algorithm can be driven into quadratic work: formatting
//! elements reconstructed again and again (nodes), scope checks that walk the whole stack of
//! open elements for every end tag (time without nodes), children moved by the adoption
//! agency. Our tree sink counts every node it creates against a [`Budget`] of nodes, and every
//! operation against a budget of work, where each token costs the depth at which the tree was
//! last built (about the size of the stack a scope check walks); it refuses nesting deeper
//! than [`MAX_NESTING_DEPTH`]. Once a limit is hit, a guard between the tokenizer and the tree
//! builder drops every further token, feeding stops, and the parse fails with
//! [`FeedError::TooComplex`]. Nodes past the budget are never stored. Nothing here recurses
//! over the tree, so depth cannot overflow the stack.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{
    ElementFlags, NodeOrText, QuirksMode, TreeBuilder, TreeBuilderOpts, TreeSink,
};
use html5ever::{Attribute, QualName, TokenizerResult, local_name, ns};
use url::Url;

use crate::util::{check_size, clip, resolve_http};
use crate::{FeedError, MAX_HTML_NODES, MAX_NESTING_DEPTH};

pub(crate) type NodeId = u32;
const NIL: NodeId = NodeId::MAX;

/// Units of tree-building work allowed for all the HTML one public call parses: a token costs
/// one plus the depth the tree was last built at, an append or move one. A Telegram page costs
/// under a million, 16 MiB of feed descriptions (shallow HTML) some 15 million; the worst input
/// gets about a second and a half of a debug build before it is cut off.
const MAX_HTML_WORK: usize = 32 * 1024 * 1024;

/// Work allowed for all the HTML one public call parses (a whole feed shares one), so that
/// time is bounded however many fragments there are; memory is bounded per document by
/// [`MAX_HTML_NODES`], each tree being dropped once read.
pub(crate) struct Budget {
    ops: Cell<usize>,
}

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget::with_work(MAX_HTML_WORK)
    }

    fn with_work(units: usize) -> Budget {
        Budget {
            ops: Cell::new(units),
        }
    }

    fn take_ops(&self, n: usize) -> bool {
        match self.ops.get().checked_sub(n) {
            Some(left) => {
                self.ops.set(left);
                true
            }
            None => {
                self.ops.set(0);
                false
            }
        }
    }
}

pub(crate) enum NodeData {
    Document,
    Element {
        attrs: Vec<Attribute>,
        template_contents: NodeId,
        annotation_xml_integration_point: bool,
    },
    Text(StrTendril),
    /// Comments, processing instructions: kept in the tree, never read.
    Other,
}

pub(crate) struct Node {
    name: QualName,
    data: NodeData,
    parent: NodeId,
    first_child: NodeId,
    last_child: NodeId,
    prev_sibling: NodeId,
    next_sibling: NodeId,
    depth: u32,
}

fn id(n: NodeId) -> Option<NodeId> {
    (n != NIL).then_some(n)
}

/// A parsed HTML document.
pub(crate) struct Dom {
    nodes: Vec<Node>,
}

/// The html5ever handle of a node: its id, and its name so that `elem_name` can lend it
/// without borrowing the arena (html5ever may hold a name while it changes the tree).
#[derive(Clone)]
struct Handle {
    id: NodeId,
    name: Rc<QualName>,
}

struct Arena<'b> {
    nodes: Vec<Node>,
    budget: &'b Budget,
    stop: Option<&'static str>,
    /// Depth of the node last linked into the tree: about the size of the stack of open
    /// elements, which is what a token may make the tree builder walk.
    last_depth: u32,
}

struct Sink<'b> {
    arena: RefCell<Arena<'b>>,
    stopped: Cell<bool>,
    /// Ids for nodes refused once a limit was hit: unique (html5ever compares handles), never
    /// stored, so every later operation on them is a no-op.
    next_phantom: Cell<NodeId>,
    empty_name: Rc<QualName>,
}

fn empty_name() -> QualName {
    QualName::new(None, ns!(), local_name!(""))
}

impl<'b> Sink<'b> {
    fn new(budget: &'b Budget) -> Sink<'b> {
        let document = Node {
            name: empty_name(),
            data: NodeData::Document,
            parent: NIL,
            first_child: NIL,
            last_child: NIL,
            prev_sibling: NIL,
            next_sibling: NIL,
            depth: 0,
        };
        Sink {
            arena: RefCell::new(Arena {
                nodes: vec![document],
                budget,
                stop: None,
                last_depth: 0,
            }),
            stopped: Cell::new(false),
            next_phantom: Cell::new(NIL - 1),
            empty_name: Rc::new(empty_name()),
        }
    }

    /// Runs `f` on the arena. `None`, and the parse stopped, if the arena is already borrowed
    /// (html5ever never calls the sink re-entrantly, so this is not expected).
    fn with<R>(&self, f: impl FnOnce(&mut Arena<'b>) -> R) -> Option<R> {
        let Ok(mut arena) = self.arena.try_borrow_mut() else {
            self.stopped.set(true);
            return None;
        };
        let out = f(&mut arena);
        if arena.stop.is_some() {
            self.stopped.set(true);
        }
        Some(out)
    }

    fn phantom(&self) -> NodeId {
        let id = self.next_phantom.get();
        self.next_phantom.set(id.saturating_sub(1));
        id
    }

    /// A handle for a node `with` created, or a phantom one.
    fn new_handle(&self, id: Option<Option<NodeId>>, name: Option<QualName>) -> Handle {
        let id = id.flatten().unwrap_or_else(|| self.phantom());
        self.handle(id, name)
    }

    fn handle(&self, id: NodeId, name: Option<QualName>) -> Handle {
        Handle {
            id,
            name: name.map_or_else(|| self.empty_name.clone(), Rc::new),
        }
    }
}

impl Arena<'_> {
    fn halt(&mut self, why: &'static str) {
        if self.stop.is_none() {
            self.stop = Some(why);
        }
    }

    fn op(&mut self, n: usize) -> bool {
        if !self.budget.take_ops(n) {
            self.halt("too much HTML tree-building work");
            return false;
        }
        true
    }

    /// A new node, unless a limit was hit.
    fn new_node(&mut self, name: QualName, data: NodeData) -> Option<NodeId> {
        if self.stop.is_some() {
            return None;
        }
        if self.nodes.len() > MAX_HTML_NODES || !self.op(1) {
            self.halt("too many HTML nodes");
            return None;
        }
        let new = NodeId::try_from(self.nodes.len()).ok()?;
        self.nodes.push(Node {
            name,
            data,
            parent: NIL,
            first_child: NIL,
            last_child: NIL,
            prev_sibling: NIL,
            next_sibling: NIL,
            depth: 0,
        });
        Some(new)
    }

    fn get(&self, n: NodeId) -> Option<&Node> {
        self.nodes.get(n as usize)
    }

    fn get_mut(&mut self, n: NodeId) -> Option<&mut Node> {
        self.nodes.get_mut(n as usize)
    }

    fn detach(&mut self, n: NodeId) {
        let Some(node) = self.get(n) else { return };
        let (parent, prev, next) = (node.parent, node.prev_sibling, node.next_sibling);
        self.join(parent, prev, next, next, prev);
        if let Some(node) = self.get_mut(n) {
            node.parent = NIL;
            node.prev_sibling = NIL;
            node.next_sibling = NIL;
        }
    }

    /// Whether `node` is `of` or one of its ancestors.
    fn is_ancestor(&self, node: NodeId, of: NodeId) -> bool {
        let mut at = of;
        while let Some(n) = self.get(at) {
            if at == node {
                return true;
            }
            at = n.parent;
        }
        false
    }

    /// Links the detached node `child` under `parent`, before `before` (or last when NIL).
    /// Refuses to make a cycle, which would make every walk of the tree endless.
    fn link(&mut self, parent: NodeId, child: NodeId, before: NodeId) {
        let Some(c) = self.get(child) else { return };
        if c.first_child != NIL && self.is_ancestor(child, parent) || child == parent {
            return;
        }
        let Some(par) = self.get(parent) else { return };
        let depth = par.depth.saturating_add(1);
        if depth as usize > MAX_NESTING_DEPTH {
            self.halt("HTML nested too deeply");
            return;
        }
        let prev = match self.get(before) {
            Some(b) if b.parent == parent => b.prev_sibling,
            _ => par.last_child,
        };
        let next = if self.get(before).is_some_and(|b| b.parent == parent) {
            before
        } else {
            NIL
        };
        if let Some(c) = self.get_mut(child) {
            c.parent = parent;
            c.prev_sibling = prev;
            c.next_sibling = next;
            c.depth = depth;
        }
        self.last_depth = depth;
        self.join(parent, prev, next, child, child);
    }

    /// Points the siblings `prev` and `next` of `parent`'s children (either may be NIL, at an
    /// end) at what now stands between them: `prev` (or `parent`, as its first child) at
    /// `after_prev`, and `next` (or `parent`, as its last child) at `before_next`.
    fn join(
        &mut self,
        parent: NodeId,
        prev: NodeId,
        next: NodeId,
        after_prev: NodeId,
        before_next: NodeId,
    ) {
        if let Some(p) = self.get_mut(prev) {
            p.next_sibling = after_prev;
        } else if let Some(par) = self.get_mut(parent) {
            par.first_child = after_prev;
        }
        if let Some(nx) = self.get_mut(next) {
            nx.prev_sibling = before_next;
        } else if let Some(par) = self.get_mut(parent) {
            par.last_child = before_next;
        }
    }

    fn insert(&mut self, parent: NodeId, before: NodeId, child: NodeOrText<Handle>) {
        if !self.op(1) {
            return;
        }
        match child {
            NodeOrText::AppendNode(h) => {
                self.detach(h.id);
                self.link(parent, h.id, before);
            }
            NodeOrText::AppendText(text) => {
                // Adjacent text merges into one node, as the DOM does.
                let prev = match self.get(before) {
                    Some(b) if b.parent == parent => b.prev_sibling,
                    _ => self.get(parent).map_or(NIL, |p| p.last_child),
                };
                if let Some(Node {
                    data: NodeData::Text(t),
                    ..
                }) = self.get_mut(prev)
                {
                    t.push_tendril(&text);
                    return;
                }
                if let Some(new) = self.new_node(empty_name(), NodeData::Text(text)) {
                    self.link(parent, new, before);
                }
            }
        }
    }
}

impl<'b> TreeSink for Sink<'b> {
    type Handle = Handle;
    type Output = ();
    type ElemName<'a>
        = &'a QualName
    where
        Self: 'a;

    fn finish(self) {}

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Handle {
        self.handle(0, None)
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> &'a QualName {
        &target.name
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        let node_name = name.clone();
        let id = self.with(|a| {
            let template_contents = if flags.template {
                a.new_node(empty_name(), NodeData::Document).unwrap_or(NIL)
            } else {
                NIL
            };
            a.new_node(
                node_name,
                NodeData::Element {
                    attrs,
                    template_contents,
                    annotation_xml_integration_point: flags.mathml_annotation_xml_integration_point,
                },
            )
        });
        self.new_handle(id, Some(name))
    }

    fn create_comment(&self, _text: StrTendril) -> Handle {
        let id = self.with(|a| a.new_node(empty_name(), NodeData::Other));
        self.new_handle(id, None)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> Handle {
        let id = self.with(|a| a.new_node(empty_name(), NodeData::Other));
        self.new_handle(id, None)
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        self.with(|a| a.insert(parent.id, NIL, child));
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        self.with(|a| {
            let parent = a.get(element.id).map_or(NIL, |n| n.parent);
            if a.get(parent).is_some() {
                a.insert(parent, element.id, child);
            } else {
                a.insert(prev_element.id, NIL, child);
            }
        });
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &Handle) -> Handle {
        let contents = self.with(|a| match a.get(target.id).map(|n| &n.data) {
            Some(NodeData::Element {
                template_contents, ..
            }) if *template_contents != NIL => *template_contents,
            _ => target.id,
        });
        self.handle(contents.unwrap_or(target.id), None)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        x.id == y.id
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        self.with(|a| {
            let parent = a.get(sibling.id).map_or(NIL, |n| n.parent);
            if a.get(parent).is_some() {
                a.insert(parent, sibling.id, new_node);
            }
        });
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        self.with(|a| {
            if !a.op(attrs.len()) {
                return;
            }
            if let Some(Node {
                data: NodeData::Element {
                    attrs: existing, ..
                },
                ..
            }) = a.get_mut(target.id)
            {
                for attr in attrs {
                    if !existing.iter().any(|e| e.name == attr.name) {
                        existing.push(attr);
                    }
                }
            }
        });
    }

    fn remove_from_parent(&self, target: &Handle) {
        self.with(|a| {
            if a.op(1) {
                a.detach(target.id);
            }
        });
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        self.with(|a| {
            let mut child = a.get(node.id).map_or(NIL, |n| n.first_child);
            while let Some(c) = id(child) {
                if !a.op(1) {
                    return;
                }
                let next = a.get(c).map_or(NIL, |n| n.next_sibling);
                a.detach(c);
                a.link(new_parent.id, c, NIL);
                child = next;
            }
        });
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.with(|a| {
            matches!(
                a.get(handle.id).map(|n| &n.data),
                Some(NodeData::Element {
                    annotation_xml_integration_point: true,
                    ..
                })
            )
        })
        .unwrap_or(false)
    }
}

/// Sits between the tokenizer and the tree builder; drops every token once the sink stopped.
struct Guard<'b> {
    builder: TreeBuilder<Handle, Sink<'b>>,
}

impl<'b> TokenSink for Guard<'b> {
    type Handle = Handle;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<Handle> {
        let sink = &self.builder.sink;
        if !sink.stopped.get() {
            sink.with(|a| a.op(1 + a.last_depth as usize));
        }
        if sink.stopped.get() {
            return TokenSinkResult::Continue;
        }
        self.builder.process_token(token, line_number)
    }

    fn end(&self) {
        if !self.builder.sink.stopped.get() {
            self.builder.end();
        }
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.builder
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

/// How much input the tokenizer is given at a time, so that a stopped parse stops soon.
const CHUNK: usize = 64 * 1024;

/// Parses an HTML document (bytes as UTF-8, invalid sequences replaced).
pub(crate) fn parse(html: &[u8], budget: &Budget) -> Result<Dom, FeedError> {
    check_size(html)?;
    parse_str(&String::from_utf8_lossy(html), budget)
}

/// Parses HTML text (a document, or a fragment such as a feed item's description).
pub(crate) fn parse_str(html: &str, budget: &Budget) -> Result<Dom, FeedError> {
    let sink = Sink::new(budget);
    let builder = TreeBuilder::new(sink, TreeBuilderOpts::default());
    let tokenizer = Tokenizer::new(Guard { builder }, TokenizerOpts::default());
    let queue = BufferQueue::default();
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = CHUNK.min(rest.len());
        while cut < rest.len() && !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at_checked(cut).unwrap_or((rest, ""));
        rest = tail;
        queue.push_back(StrTendril::from_slice(chunk));
        // Scripts are not run, and the encoding was settled before parsing (a `<meta charset>`
        // makes the tokenizer pause to say so): go on until the input is consumed.
        while !matches!(tokenizer.feed(&queue), TokenizerResult::Done) {}
        if tokenizer.sink.builder.sink.stopped.get() {
            break;
        }
    }
    if !tokenizer.sink.builder.sink.stopped.get() {
        tokenizer.end();
    }
    let Guard { builder } = tokenizer.sink;
    let arena = builder.sink.arena.into_inner();
    if let Some(why) = arena.stop {
        return Err(FeedError::TooComplex(why));
    }
    if builder.sink.stopped.get() {
        return Err(FeedError::TooComplex("HTML tree builder stopped"));
    }
    Ok(Dom { nodes: arena.nodes })
}

/// One step of a walk through a subtree.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Step {
    Enter(NodeId),
    Exit(NodeId),
}

/// A walk through the descendants of a node, in document order, without recursion or a stack.
pub(crate) struct Walk {
    root: NodeId,
    last: Option<Step>,
    skip: bool,
    done: bool,
}

impl Walk {
    /// Do not descend into the node just entered (its `Exit` still comes).
    pub(crate) fn skip_children(&mut self) {
        self.skip = true;
    }

    pub(crate) fn next(&mut self, dom: &Dom) -> Option<Step> {
        if self.done {
            return None;
        }
        let skip = std::mem::take(&mut self.skip);
        let step = match self.last {
            None => id(dom.node(self.root)?.first_child).map(Step::Enter),
            Some(Step::Enter(n)) => match id(dom.node(n)?.first_child) {
                Some(child) if !skip => Some(Step::Enter(child)),
                _ => Some(Step::Exit(n)),
            },
            Some(Step::Exit(n)) => {
                let node = dom.node(n)?;
                match id(node.next_sibling) {
                    Some(sibling) => Some(Step::Enter(sibling)),
                    None => id(node.parent).filter(|p| *p != self.root).map(Step::Exit),
                }
            }
        };
        self.last = step;
        self.done = step.is_none();
        step
    }
}

impl Dom {
    pub(crate) fn root(&self) -> NodeId {
        0
    }

    fn node(&self, n: NodeId) -> Option<&Node> {
        self.nodes.get(n as usize)
    }

    pub(crate) fn walk(&self, root: NodeId) -> Walk {
        Walk {
            root,
            last: None,
            skip: false,
            done: false,
        }
    }

    /// The element's local name, if `n` is an HTML (or SVG/MathML) element.
    pub(crate) fn tag(&self, n: NodeId) -> Option<&str> {
        let node = self.node(n)?;
        matches!(node.data, NodeData::Element { .. }).then(|| &*node.name.local)
    }

    pub(crate) fn is(&self, n: NodeId, tag: &str) -> bool {
        self.tag(n) == Some(tag)
    }

    pub(crate) fn attr(&self, n: NodeId, name: &str) -> Option<&str> {
        match &self.node(n)?.data {
            NodeData::Element { attrs, .. } => attrs
                .iter()
                .find(|a| a.name.ns == ns!() && &*a.name.local == name)
                .map(|a| &*a.value),
            _ => None,
        }
    }

    pub(crate) fn has_class(&self, n: NodeId, class: &str) -> bool {
        self.attr(n, "class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == class))
    }

    fn text_data(&self, n: NodeId) -> Option<&str> {
        match &self.node(n)?.data {
            NodeData::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The first descendant of `root` (in document order) for which `pred` holds.
    pub(crate) fn find(&self, root: NodeId, pred: impl Fn(NodeId) -> bool) -> Option<NodeId> {
        let mut walk = self.walk(root);
        while let Some(step) = walk.next(self) {
            if let Step::Enter(n) = step
                && pred(n)
            {
                return Some(n);
            }
        }
        None
    }

    /// The first descendant element of `root` with the class `class`.
    pub(crate) fn find_class(&self, root: NodeId, class: &str) -> Option<NodeId> {
        self.find(root, |n| self.has_class(n, class))
    }

    /// The rendered text of a subtree, as [`TextOptions`] says.
    pub(crate) fn text(&self, root: NodeId, options: &TextOptions<'_>) -> Rendered {
        render(self, root, options)
    }
}

/// How to render HTML as text.
pub(crate) struct TextOptions<'a> {
    /// Resolves link targets (shown after the link text) and image sources.
    pub(crate) base: &'a Url,
    /// Stop once the text is this long (the caller cuts and marks it).
    pub(crate) limit: usize,
    /// Collect `<img src>` as media (feeds put their pictures in the description).
    pub(crate) images: bool,
}

/// Text rendered from HTML.
pub(crate) struct Rendered {
    pub(crate) text: String,
    /// The text reached its limit: there was more.
    pub(crate) truncated: bool,
    /// Images found, when asked for.
    pub(crate) images: Vec<Url>,
}

/// Elements that start and end a line, as a browser lays them out.
fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "dd"
            | "details"
            | "div"
            | "dl"
            | "dt"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tr"
            | "ul"
    )
}

/// Elements whose content is never shown as text.
fn is_hidden(tag: &str) -> bool {
    matches!(
        tag,
        "head"
            | "script"
            | "style"
            | "template"
            | "noscript"
            | "iframe"
            | "object"
            | "svg"
            | "math"
            | "select"
            | "textarea"
            | "button"
    )
}

/// Writes words with HTML's whitespace rules: runs of spaces collapse, line breaks come from
/// `<br>` and block boundaries (at most one blank line), leading/trailing blank is dropped.
struct Writer {
    out: String,
    limit: usize,
    pending_space: bool,
    pending_newlines: u8,
    full: bool,
}

impl Writer {
    fn flush(&mut self) {
        if !self.out.is_empty() {
            if self.pending_newlines > 0 {
                for _ in 0..self.pending_newlines.min(2) {
                    self.out.push('\n');
                }
            } else if self.pending_space {
                self.out.push(' ');
            }
        }
        self.pending_newlines = 0;
        self.pending_space = false;
    }

    fn word(&mut self, word: &str) {
        if self.full || word.is_empty() {
            return;
        }
        self.flush();
        let room = self.limit.saturating_sub(self.out.len());
        if word.len() > room {
            self.out.push_str(clip(word, room));
            self.full = true;
        } else {
            self.out.push_str(word);
        }
    }

    fn text(&mut self, text: &str, pre: bool) {
        if pre {
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.newline(1);
                }
                let line = line.trim_end_matches('\r');
                if !line.is_empty() {
                    self.word(line);
                }
            }
            return;
        }
        let mut rest = text;
        while !rest.is_empty() && !self.full {
            let start = rest.trim_start_matches(is_collapsible);
            if start.len() != rest.len() {
                self.pending_space = true;
            }
            let end = start.find(is_collapsible).unwrap_or(start.len());
            let (word, tail) = start.split_at_checked(end).unwrap_or((start, ""));
            // A no-break space is a space to a reader.
            if word.contains('\u{a0}') {
                self.word(&word.replace('\u{a0}', " "));
            } else {
                self.word(word);
            }
            rest = tail;
        }
    }

    fn newline(&mut self, n: u8) {
        self.pending_newlines = self.pending_newlines.saturating_add(n).min(2);
    }

    fn block(&mut self, blank_line: bool) {
        let want = if blank_line { 2 } else { 1 };
        self.pending_newlines = self.pending_newlines.max(want);
    }
}

fn is_collapsible(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

/// Whether showing `url` after a link's `label` tells the reader anything.
fn worth_showing(label: &str, url: &Url) -> bool {
    let strip = |s: &str| -> String {
        let s = s.trim();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        let s = s.strip_prefix("www.").unwrap_or(s);
        s.trim_end_matches('/').to_ascii_lowercase()
    };
    let label = label.trim();
    let target = url.as_str();
    if label.is_empty() || strip(label) == strip(target) {
        return false;
    }
    // Telegram hashtags link to a search of the channel, mentions to the channel named.
    if let Some(tag) = label.strip_prefix('#')
        && url
            .query_pairs()
            .any(|(k, v)| k == "q" && v.trim_start_matches('#') == tag)
    {
        return false;
    }
    if let Some(name) = label.strip_prefix('@')
        && matches!(url.host_str(), Some("t.me" | "telegram.me"))
        && url.path().trim_matches('/').eq_ignore_ascii_case(name)
    {
        return false;
    }
    true
}

fn render(dom: &Dom, root: NodeId, options: &TextOptions<'_>) -> Rendered {
    let mut w = Writer {
        out: String::new(),
        limit: options.limit,
        pending_space: false,
        pending_newlines: 0,
        full: false,
    };
    let mut images = Vec::new();
    // Open links: (node, where its label starts, target). Links do not nest in parsed HTML,
    // but a hostile tree could try: the stack is bounded by the nesting depth limit.
    let mut links: Vec<(NodeId, usize, Url)> = Vec::new();
    let mut pre_depth = 0usize;
    let mut walk = dom.walk(root);
    while let Some(step) = walk.next(dom) {
        if w.full {
            break;
        }
        match step {
            Step::Enter(n) => {
                if let Some(text) = dom.text_data(n) {
                    w.text(text, pre_depth > 0);
                    continue;
                }
                let Some(tag) = dom.tag(n) else { continue };
                if is_hidden(tag) {
                    walk.skip_children();
                    continue;
                }
                match tag {
                    "br" => w.newline(1),
                    "p" => w.block(true),
                    "pre" => {
                        w.block(false);
                        pre_depth += 1;
                    }
                    "td" | "th" => w.pending_space = true,
                    "img" if options.images => {
                        if images.len() < crate::MAX_MEDIA_PER_POST
                            && let Some(src) = dom
                                .attr(n, "src")
                                .and_then(|s| resolve_http(options.base, s))
                        {
                            images.push(src);
                        }
                    }
                    "a" => {
                        if let Some(url) = dom
                            .attr(n, "href")
                            .and_then(|h| resolve_http(options.base, h))
                        {
                            links.push((n, w.out.len(), url));
                        }
                    }
                    t if is_block(t) => w.block(false),
                    _ => {}
                }
            }
            Step::Exit(n) => {
                let Some(tag) = dom.tag(n) else { continue };
                match tag {
                    "p" => w.block(true),
                    "pre" => {
                        pre_depth = pre_depth.saturating_sub(1);
                        w.block(false);
                    }
                    "a" => {
                        if links.last().is_some_and(|(open, _, _)| *open == n)
                            && let Some((_, start, url)) = links.pop()
                        {
                            let label = w.out.get(start..).unwrap_or("");
                            if worth_showing(label, &url) {
                                w.pending_space = true;
                                w.word(&format!("({url})"));
                            } else if label.trim().is_empty() {
                                w.pending_space = true;
                                w.word(url.as_str());
                            }
                        }
                    }
                    t if is_block(t) => w.block(false),
                    _ => {}
                }
            }
        }
    }
    Rendered {
        truncated: w.full,
        text: w.out,
        images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(html: &str) -> String {
        let base = Url::parse("https://example.org/dir/page").unwrap();
        let budget = Budget::new();
        let dom = parse_str(html, &budget).unwrap();
        dom.text(
            dom.root(),
            &TextOptions {
                base: &base,
                limit: 10_000,
                images: false,
            },
        )
        .text
    }

    #[test]
    fn text_keeps_line_breaks_and_link_targets() {
        assert_eq!(
            text_of("First&nbsp;line<br/>second  line <a href=\"/x?a=1&amp;b=2\">a link</a>."),
            "First line\nsecond line a link (https://example.org/x?a=1&b=2)."
        );
        assert_eq!(
            text_of("<p>One</p><p>Two</p><div>Three<br><br><br><br>Four</div>"),
            "One\n\nTwo\n\nThree\n\nFour"
        );
        assert_eq!(
            text_of("see <a href=\"https://example.com/\">example.com</a>"),
            "see example.com"
        );
        assert_eq!(
            text_of("<script>alert(1)</script><style>p{}</style>&lt;b&gt; &amp; &#x41;"),
            "<b> & A"
        );
        assert_eq!(text_of("<pre>a\n  b</pre>c"), "a\n  b\nc");
        assert_eq!(
            text_of("<a href=\"https://x.org/y\"></a>"),
            "https://x.org/y"
        );
        assert_eq!(
            text_of("<a href=\"javascript:alert(1)\">click</a>"),
            "click"
        );
    }

    #[test]
    fn malformed_html_still_parses() {
        assert_eq!(
            text_of("<b>bold <i>both</b> italic</i> <p>para"),
            "bold both italic\n\npara"
        );
        assert_eq!(text_of("<div><span>unclosed"), "unclosed");
        assert_eq!(text_of("</div></div>x</p>"), "x");
    }

    #[test]
    fn walk_visits_in_document_order() {
        let budget = Budget::new();
        let dom = parse_str(
            "<div id=a><p id=b></p><p id=c><i id=d></i></p></div><br id=e>",
            &budget,
        )
        .unwrap();
        let mut walk = dom.walk(dom.root());
        let mut seen = Vec::new();
        while let Some(step) = walk.next(&dom) {
            if let Step::Enter(n) = step
                && let Some(id) = dom.attr(n, "id")
            {
                seen.push(id.to_owned());
                if id == "c" {
                    walk.skip_children();
                }
            }
        }
        assert_eq!(seen, ["a", "b", "c", "e"]);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let budget = Budget::new();
        let html = "<div>".repeat(MAX_NESTING_DEPTH + 10);
        assert!(matches!(
            parse_str(&html, &budget),
            Err(FeedError::TooComplex(_))
        ));
    }

    #[test]
    fn quadratic_formatting_reconstruction_is_bounded() {
        // Each <div>x</div> reconstructs every open formatting element: quadratic node count.
        let mut html = String::new();
        for i in 0..300 {
            html.push_str(&format!("<div><b id={i}></div>"));
        }
        for _ in 0..20_000 {
            html.push_str("<div>x</div>");
        }
        let started = std::time::Instant::now();
        let budget = Budget::new();
        let result = parse_str(&html, &budget);
        assert!(matches!(
            result,
            Err(FeedError::TooComplex("too many HTML nodes"))
        ));
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    #[test]
    fn work_budget_is_shared_across_parses() {
        let budget = Budget::with_work(2_000_000);
        let chunk = "<span></span>".repeat(1000);
        let mut parses = 0;
        let err = loop {
            match parse_str(&chunk, &budget) {
                Ok(_) => parses += 1,
                Err(e) => break e,
            }
            assert!(parses < 1000, "the work budget must run out");
        };
        assert!(parses > 10, "{parses}");
        assert!(matches!(
            err,
            FeedError::TooComplex("too much HTML tree-building work")
        ));
    }

    #[test]
    fn node_limit_is_per_document() {
        let budget = Budget::new();
        let many = "<br>".repeat(MAX_HTML_NODES + 10);
        assert!(matches!(
            parse_str(&many, &budget),
            Err(FeedError::TooComplex("too many HTML nodes"))
        ));
        // The next document of the same call starts afresh.
        let few = "<br>".repeat(MAX_HTML_NODES / 2);
        assert!(parse_str(&few, &budget).is_ok());
    }
}
