//! RSS 2.0 and Atom 1.0 feeds, on fixtures shaped like real ones, and the XML attacks.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use vigil_feeds::{FeedError, MediaRefKind, parse_feed};

#[test]
fn rss_items_become_posts() {
    let page = parse_feed(&fixture("rss.xml"), &url("https://news.example.org/feed/")).unwrap();
    // The channel's title, not the <image>'s; entities decoded.
    assert_eq!(
        page.title.as_deref(),
        Some("Regional Monitor – Field Reports")
    );
    // atom:link rel="next", resolved against the feed's URL.
    assert_eq!(
        page.older.map(String::from).as_deref(),
        Some("https://news.example.org/feed/?paged=2")
    );
    // The item with neither link nor guid is skipped.
    assert_eq!(page.posts.len(), 3);

    let first = &page.posts[0];
    assert_eq!(first.id, "https://news.example.org/?p=48213");
    assert_eq!(
        first.url,
        "https://news.example.org/2024/03/01/strike-kharkiv/"
    );
    assert_eq!(first.author.as_deref(), Some("Iryna Petrenko"));
    assert_eq!(first.published_at.as_deref(), Some("2024-03-01T11:45:00Z"));
    // content:encoded preferred over the description; scripts dropped; <br> kept.
    assert_eq!(
        first.text.as_deref(),
        Some(
            "Strike on a residential block in Kharkiv\n\n\
             A missile hit a nine-storey building at 11:20 local time.\n\n\
             The damaged block, 1 March\n\n\
             Rescuers are at the scene.\nCasualties: at least 4."
        )
    );
    assert_eq!(
        first.media,
        [
            media(
                "https://news.example.org/wp-content/uploads/2024/03/strike.mp4",
                MediaRefKind::Video
            ),
            media(
                "https://cdn.example.org/photos/block-full.jpg",
                MediaRefKind::Image
            ),
            media(
                "https://cdn.example.org/photos/block-thumb.jpg",
                MediaRefKind::Image
            ),
            // The image inside the HTML, resolved against the feed URL.
            media(
                "https://news.example.org/wp-content/uploads/2024/03/block.jpg",
                MediaRefKind::Image
            ),
        ]
    );

    let second = &page.posts[1];
    // No guid: the link, resolved, is the id.
    assert_eq!(second.id, "https://news.example.org/2024/03/01/evacuation/");
    assert_eq!(
        second.url,
        "https://news.example.org/2024/03/01/evacuation/"
    );
    assert_eq!(
        second.author.as_deref(),
        Some("desk@news.example.org (News Desk)")
    );
    assert_eq!(second.published_at.as_deref(), Some("2024-03-01T09:05:00Z"));
    // Entity-escaped HTML in the description turned into text, link target shown.
    assert_eq!(
        second.text.as_deref(),
        Some(
            "Evacuation update & shelter list\n\n\
             Buses leave from the central station at 10:00.\n\
             Shelters: list (https://news.example.org/shelters)"
        )
    );
    assert_eq!(
        second.media,
        [media(
            "https://news.example.org/audio/briefing.mp3",
            MediaRefKind::Other
        )]
    );

    let third = &page.posts[2];
    assert_eq!(third.id, "https://news.example.org/?p=48100");
    assert_eq!(third.url, "https://news.example.org/?p=48100");
    assert_eq!(third.published_at, None, "an unreadable date is no date");
    assert_eq!(
        third.text.as_deref(),
        Some("An item with only a guid and a description.")
    );
}

#[test]
fn atom_entries_become_posts() {
    let page = parse_feed(
        &fixture("atom.xml"),
        &url("https://monitor.example.net/atom.xml"),
    )
    .unwrap();
    assert_eq!(page.title.as_deref(), Some("Monitoring Mission updates"));
    assert_eq!(
        page.older.map(String::from).as_deref(),
        Some("https://monitor.example.net/atom.xml?page=2")
    );
    assert_eq!(page.posts.len(), 3);

    let report = &page.posts[0];
    assert_eq!(report.id, "tag:monitor.example.net,2024:report-14");
    assert_eq!(report.url, "https://monitor.example.net/reports/14");
    assert_eq!(report.author.as_deref(), Some("Field Team North"));
    // published, not updated; +01:00 to UTC.
    assert_eq!(report.published_at.as_deref(), Some("2024-03-02T08:30:00Z"));
    // XHTML content preferred over the summary, markup and entities handled.
    assert_eq!(
        report.text.as_deref(),
        Some(
            "Report 14: attacks on energy infrastructure\n\n\
             Between 1 and 28 February the mission recorded 31 attacks.\n\n\
             Full data: CSV (https://monitor.example.net/data/14.csv) & maps.\nContact <press>."
        )
    );
    assert_eq!(
        report.media,
        [
            media(
                "https://monitor.example.net/reports/14.pdf",
                MediaRefKind::Other
            ),
            media(
                "https://monitor.example.net/img/14.jpg",
                MediaRefKind::Image
            ),
        ]
    );

    let statement = &page.posts[1];
    assert_eq!(statement.id, "https://monitor.example.net/statements/9");
    // No author on the entry: the feed's.
    assert_eq!(statement.author.as_deref(), Some("Monitoring Mission"));
    assert_eq!(
        statement.published_at.as_deref(),
        Some("2024-03-01T16:00:00Z")
    );
    assert_eq!(
        statement.text.as_deref(),
        Some(
            "Statement on the detention of journalists\n\n\
             The mission calls for the immediate release of three journalists."
        )
    );

    // A YouTube-style entry: Media RSS group with description and thumbnail.
    let video = &page.posts[2];
    assert_eq!(video.id, "yt:video:abc123");
    assert_eq!(
        video.text.as_deref(),
        Some("Video briefing\n\nWeekly briefing on civilian casualties.")
    );
    assert!(video.media.contains(&media(
        "https://img.example.net/vi/abc123/hqdefault.jpg",
        MediaRefKind::Image
    )));
}

#[test]
fn doctype_is_refused_so_no_entity_is_expanded_or_fetched() {
    let xxe = br#"<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rss version="2.0"><channel><title>&xxe;</title>
<item><title>&xxe;</title><link>https://x.org/1</link></item></channel></rss>"#;
    assert!(matches!(
        parse_feed(xxe, &url("https://x.org/feed")),
        Err(FeedError::Doctype)
    ));

    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    laughs.push_str("]>\n<rss><channel><item><title>&lol9;</title><link>https://x.org/1</link></item></channel></rss>");
    let started = std::time::Instant::now();
    assert!(matches!(
        parse_feed(laughs.as_bytes(), &url("https://x.org/feed")),
        Err(FeedError::Doctype)
    ));
    assert!(started.elapsed().as_secs() < 2);

    // A public external DTD (RSS 0.91 style) is refused as well: nothing is fetched.
    let public = br#"<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel></channel></rss>"#;
    assert!(matches!(
        parse_feed(public, &url("https://x.org/feed")),
        Err(FeedError::Doctype)
    ));
}

#[test]
fn undeclared_entities_are_left_as_written_and_html_ones_decoded() {
    let xml = br#"<rss><channel><item><title>a&nbsp;b &eacute; &custom; &#x41;&#66;</title>
        <link>https://x.org/1</link></item></channel></rss>"#;
    let page = parse_feed(xml, &url("https://x.org/feed")).unwrap();
    assert_eq!(page.posts[0].text.as_deref(), Some("a b é &custom; AB"));
}

#[test]
fn declared_legacy_encoding_is_decoded() {
    // "Новини" in windows-1251.
    let mut xml =
        b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss><channel><title>".to_vec();
    xml.extend_from_slice(&[0xcd, 0xee, 0xe2, 0xe8, 0xed, 0xe8]);
    xml.extend_from_slice(b"</title><item><title>");
    xml.extend_from_slice(&[0xcd, 0xee, 0xe2, 0xe8, 0xed, 0xe8]);
    xml.extend_from_slice(b"</title><link>https://x.org/1</link></item></channel></rss>");
    let page = parse_feed(&xml, &url("https://x.org/feed")).unwrap();
    assert_eq!(page.title.as_deref(), Some("Новини"));
    assert_eq!(page.posts[0].text.as_deref(), Some("Новини"));

    // UTF-8 with a byte-order mark.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice("<rss><channel><title>Звіт</title></channel></rss>".as_bytes());
    let page = parse_feed(&bom, &url("https://x.org/feed")).unwrap();
    assert_eq!(page.title.as_deref(), Some("Звіт"));
}

#[test]
fn broken_or_foreign_documents_are_errors() {
    let base = url("https://x.org/feed");
    let truncated = br#"<rss><channel><item><title>cut here"#;
    assert!(matches!(
        parse_feed(truncated, &base),
        Err(FeedError::Xml(_))
    ));
    let mismatched = br#"<rss><channel><item></channel></item></rss>"#;
    assert!(matches!(
        parse_feed(mismatched, &base),
        Err(FeedError::Xml(_))
    ));
    let html = br#"<html><body><p>Not a feed</p></body></html>"#;
    let err = parse_feed(html, &base).unwrap_err();
    assert!(err.to_string().contains("<html>"), "{err}");
    assert!(matches!(parse_feed(b"", &base), Err(FeedError::Xml(_))));
    assert!(matches!(parse_feed(b"   ", &base), Err(FeedError::Xml(_))));
}

#[test]
fn rss_1_0_and_unprefixed_namespaces() {
    let xml = br#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://x.org/"><title>RDF channel</title></channel>
  <item rdf:about="https://x.org/a"><title>A</title><link>https://x.org/a</link><dc:date>2024-03-01T10:00:00+02:00</dc:date><dc:creator>Reporter</dc:creator></item>
</rdf:RDF>"#;
    let page = parse_feed(xml, &url("https://x.org/rss")).unwrap();
    assert_eq!(page.title.as_deref(), Some("RDF channel"));
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].id, "https://x.org/a");
    assert_eq!(page.posts[0].author.as_deref(), Some("Reporter"));
    assert_eq!(
        page.posts[0].published_at.as_deref(),
        Some("2024-03-01T08:00:00Z")
    );
}

#[test]
fn unsafe_or_foreign_links_are_not_followed() {
    let xml = br#"<feed xmlns="http://www.w3.org/2005/Atom">
        <link rel="next" href="https://elsewhere.example/feed?page=2"/>
        <entry><id>x1</id><link href="javascript:alert(1)"/><link rel="enclosure" href="file:///etc/passwd"/></entry>
        <entry><id>x2</id><link href="https://x.org/2"/></entry>
    </feed>"#;
    let page = parse_feed(xml, &url("https://x.org/atom")).unwrap();
    assert_eq!(page.older, None, "pagination may not leave the feed's host");
    // x1 has no usable URL at all: skipped.
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].url, "https://x.org/2");
}
