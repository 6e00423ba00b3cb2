//! Searches against real indexes: multilingual recall, query syntax, filters, facets,
//! permissions, writes, persistence and hostile input.

use crate::{DocKind, Query, SearchDoc, SearchError, SearchIndex, SearchResults, Visibility};

fn doc(kind: DocKind, id: &str, collection_id: i64) -> SearchDoc {
    SearchDoc {
        kind,
        id: id.into(),
        collection_id,
        ..SearchDoc::default()
    }
}

fn incident(id: &str, title: &str, body: &str) -> SearchDoc {
    SearchDoc {
        title: title.into(),
        body: body.into(),
        ..doc(DocKind::Incident, id, 1)
    }
}

fn index_of(docs: Vec<SearchDoc>) -> SearchIndex {
    let mut index = SearchIndex::in_memory().expect("in-memory index");
    index.upsert(docs).expect("upsert");
    index.commit().expect("commit");
    index
}

/// Everything visible, restricted records included.
fn everything(text: &str) -> Query {
    Query {
        include_restricted: true,
        limit: 100,
        ..Query::new(text, Visibility::All)
    }
}

fn search(index: &SearchIndex, q: &Query) -> SearchResults {
    index.search(q).expect("search")
}

fn ids(results: &SearchResults) -> Vec<String> {
    results.hits.iter().map(|h| h.id.clone()).collect()
}

fn sorted_ids(results: &SearchResults) -> Vec<String> {
    let mut ids = ids(results);
    ids.sort();
    ids
}

fn finds(index: &SearchIndex, text: &str) -> Vec<String> {
    sorted_ids(&search(index, &everything(text)))
}

#[test]
fn armenian_capitals_find_lowercase_and_singular_finds_plural() {
    let index = index_of(vec![
        incident(
            "1",
            "Արամի վկայությունը",
            "Տեսանյութում երևում են գերիներ, որոնց ծեծում են։",
        ),
        incident("2", "ԱՐԱՄ", "Ո՞վ է նկարահանել"),
        incident("3", "Unrelated", "Nothing Armenian here"),
    ]);
    assert_eq!(finds(&index, "ԱՐԱՄ"), ["1", "2"], "Արամի begins with արամ");
    assert_eq!(finds(&index, "արամ"), ["1", "2"]);
    assert_eq!(
        finds(&index, "գերի"),
        ["1"],
        "գերի (prisoner) finds գերիներ (prisoners)"
    );
    assert_eq!(finds(&index, "ԳԵՐԻՆԵՐ"), ["1"]);
    assert_eq!(
        finds(&index, "գերիներին"),
        ["1"],
        "the Armenian stemmer joins the dative plural"
    );
    assert_eq!(
        finds(&index, "ով"),
        ["2"],
        "the question mark written on ո՞վ is not part of the word"
    );
}

#[test]
fn russian_inflections_stems_and_prefixes() {
    let index = index_of(vec![
        incident(
            "1",
            "ПЛЕННЫЙ",
            "Видео допроса пленного солдата опубликовано в Telegram.",
        ),
        incident(
            "2",
            "Обмен",
            "Обмен пленными состоялся у границы. Ёлки на обочине.",
        ),
        incident("3", "Other", "Ничего общего"),
    ]);
    assert_eq!(
        finds(&index, "пленный"),
        ["1", "2"],
        "lowercase finds capitals; stems join the cases"
    );
    assert_eq!(finds(&index, "ПЛЕННОГО"), ["1", "2"]);
    assert_eq!(
        finds(&index, "пленн"),
        ["1", "2"],
        "a word's beginning finds it"
    );
    assert_eq!(finds(&index, "пленн*"), ["1", "2"]);
    assert_eq!(finds(&index, "допрос"), ["1"]);
    assert_eq!(finds(&index, "солдаты"), ["1"]);
    assert_eq!(finds(&index, "елки"), ["2"], "ё is е");
    assert_eq!(
        finds(&index, "пл\u{65}нный"),
        ["1", "2"],
        "a Latin e among Cyrillic letters is read as Cyrillic"
    );
}

#[test]
fn english_stems() {
    let index = index_of(vec![
        incident(
            "1",
            "Execution of prisoners",
            "Soldiers executed two captured men.",
        ),
        incident("2", "Shelling", "A village was shelled overnight."),
    ]);
    assert_eq!(finds(&index, "prisoner"), ["1"]);
    assert_eq!(finds(&index, "executions"), ["1"]);
    assert_eq!(finds(&index, "execute"), ["1"]);
    assert_eq!(finds(&index, "shell"), ["2"]);
    assert_eq!(finds(&index, "CAPTURE"), ["1"]);
}

#[test]
fn azerbaijani_names_letters_and_suffixes() {
    let person = |id: &str, name: &str| SearchDoc {
        names: vec![name.into()],
        restricted: true,
        ..doc(DocKind::Person, id, 1)
    };
    let index = index_of(vec![
        person("1", "Ramil Əliyev"),
        person("2", "Ramil Aliyev"),
        person("3", "İlham Məmmədov"),
        person("4", "Leyla Hüseynova qızı"),
        incident(
            "5",
            "Əsirlər",
            "Azərbaycanlı əsirlərin videosu Şuşada çəkilib.",
        ),
    ]);
    // Əliyev is written Aliyev (English, Russian Алиев) and Eliyev (typed without ə).
    assert_eq!(finds(&index, "Aliyev"), ["1", "2"]);
    assert_eq!(
        finds(&index, "eliyev"),
        ["1"],
        "only the spelling with ə is also eliyev"
    );
    assert_eq!(finds(&index, "ƏLİYEV"), ["1", "2"]);
    // The exact spelling ranks first.
    assert_eq!(ids(&search(&index, &everything("Əliyev")))[0], "1");
    assert_eq!(ids(&search(&index, &everything("Aliyev")))[0], "2");
    // Dotted and dotless i: İ, I, i and ı all meet at i.
    assert_eq!(finds(&index, "ilham"), ["3"]);
    assert_eq!(finds(&index, "ILHAM"), ["3"]);
    assert_eq!(finds(&index, "mammadov"), ["3"]);
    assert_eq!(finds(&index, "memmedov"), ["3"]);
    assert_eq!(finds(&index, "QIZI"), ["4"]);
    assert_eq!(finds(&index, "qizi"), ["4"]);
    assert_eq!(finds(&index, "huseynova"), ["4"]);
    // Suffixes through the Turkish stemmer: əsir (captive) finds əsirlərin (of the captives).
    assert_eq!(finds(&index, "əsir"), ["5"]);
    assert_eq!(finds(&index, "esir"), ["5"]);
    assert_eq!(finds(&index, "Şuşa"), ["5"]);
    assert_eq!(finds(&index, "susa"), ["5"]);
}

#[test]
fn words_are_anded_and_phrases_keep_order() {
    let index = index_of(vec![
        incident("1", "", "prisoner of war video from the front"),
        incident("2", "", "war video, a prisoner was shown"),
        incident("3", "", "prisoner exchange"),
    ]);
    assert_eq!(finds(&index, "prisoner video"), ["1", "2"]);
    assert_eq!(finds(&index, "prisoner exchange"), ["3"]);
    assert_eq!(
        finds(&index, "the prisoner exchange"),
        ["3"],
        "function words are optional"
    );
    assert_eq!(finds(&index, "prisoners of war"), ["1", "2"]);
    assert_eq!(finds(&index, "\"prisoner of war\""), ["1"]);
    assert_eq!(finds(&index, "«prisoner of war» front"), ["1"]);
    assert_eq!(finds(&index, "\"war prisoner\""), Vec::<String>::new());
    assert_eq!(finds(&index, "\"prisoner\""), ["1", "2", "3"]);
    assert_eq!(
        finds(&index, "\"prison\""),
        Vec::<String>::new(),
        "a quoted word is exact: no stem, no prefix"
    );
}

#[test]
fn long_prefixes_use_the_term_dictionary() {
    let index = index_of(vec![
        incident("1", "", "internationalisation"),
        incident("2", "", "international"),
    ]);
    assert_eq!(
        finds(&index, "internationalis*"),
        ["1"],
        "longer than the 12-character n-grams"
    );
    assert_eq!(finds(&index, "internationa*"), ["1", "2"]);
}

fn filtered_index() -> SearchIndex {
    let mut a = incident("a", "Shelling of a school", "video");
    a.tags = vec!["hostilities.civilians".into()];
    a.status = Some("verified".into());
    a.platform = Some("telegram".into());
    a.date = Some("2023-09-19".into());
    let mut b = incident("b", "Prisoner video", "video");
    b.tags = vec![
        "pow.violence".into(),
        "media.identifiable_pow_images".into(),
    ];
    b.status = Some("in-review".into());
    b.platform = Some("x".into());
    b.sensitivity = vec!["graphic-violence".into(), "identifiable-prisoner".into()];
    b.date = Some("2023-09".into());
    let mut c = SearchDoc {
        title: "Comment on the video".into(),
        ..doc(DocKind::Comment, "c", 1)
    };
    c.date = Some("2022".into());
    let mut d = SearchDoc {
        title: "Captured video file".into(),
        ..doc(DocKind::Item, "d", 1)
    };
    d.platform = Some("telegram".into());
    d.sensitivity = vec!["graphic-violence".into()];
    index_of(vec![a, b, c, d])
}

#[test]
fn filters_combine_any_within_all_across() {
    let index = filtered_index();
    let q = |f: &dyn Fn(&mut Query)| {
        let mut q = everything("video");
        f(&mut q);
        sorted_ids(&search(&index, &q))
    };
    assert_eq!(q(&|_| {}), ["a", "b", "c", "d"]);
    assert_eq!(q(&|q| q.kinds = vec![DocKind::Incident]), ["a", "b"]);
    assert_eq!(
        q(&|q| q.kinds = vec![DocKind::Comment, DocKind::Item]),
        ["c", "d"]
    );
    assert_eq!(q(&|q| q.tags = vec!["pow.violence".into()]), ["b"]);
    assert_eq!(
        q(&|q| q.tags = vec!["pow.violence".into(), "hostilities.civilians".into()]),
        ["a", "b"]
    );
    assert_eq!(q(&|q| q.statuses = vec!["verified".into()]), ["a"]);
    assert_eq!(q(&|q| q.platforms = vec!["telegram".into()]), ["a", "d"]);
    assert_eq!(
        q(&|q| q.sensitivity = vec!["graphic-violence".into()]),
        ["b", "d"]
    );
    assert_eq!(
        q(&|q| {
            q.platforms = vec!["telegram".into()];
            q.sensitivity = vec!["graphic-violence".into()];
        }),
        ["d"]
    );
    assert_eq!(
        q(&|q| q.tags = vec!["no.such".into()]),
        Vec::<String>::new()
    );
}

#[test]
fn date_filters_overlap_partial_dates() {
    let index = filtered_index();
    let q = |from: Option<&str>, to: Option<&str>| {
        let mut q = everything("");
        q.date_from = from.map(str::to_owned);
        q.date_to = to.map(str::to_owned);
        sorted_ids(&search(&index, &q))
    };
    // a: 2023-09-19, b: 2023-09 (the month), c: 2022 (the year), d: undated.
    assert_eq!(q(None, None), ["a", "b", "c", "d"]);
    assert_eq!(
        q(Some("2023-09-19"), Some("2023-09-19")),
        ["a", "b"],
        "b may have been on the 19th"
    );
    assert_eq!(q(Some("2023-09-20"), None), ["b"]);
    assert_eq!(q(None, Some("2023-08-31")), ["c"]);
    assert_eq!(q(Some("2022-06"), Some("2022-06")), ["c"]);
    assert_eq!(q(Some("2023"), None), ["a", "b"]);
    assert_eq!(q(Some("2024"), None), Vec::<String>::new());
    let mut bad = everything("");
    bad.date_from = Some("19/09/2023".into());
    let err = index
        .search(&bad)
        .expect_err("a bad date filter is refused, not ignored");
    assert_eq!(err.code(), "invalid-date");
    assert!(err.is_client_error());
}

#[test]
fn facets_count_every_match_not_just_the_page() {
    let index = filtered_index();
    let mut q = everything("video");
    q.limit = 1;
    let results = search(&index, &q);
    assert_eq!(results.total, 4);
    assert_eq!(results.hits.len(), 1);
    let f = &results.facets;
    assert_eq!(
        f.keys().map(String::as_str).collect::<Vec<_>>(),
        ["kind", "platform", "sensitivity", "status", "tag"]
    );
    assert_eq!(f["kind"]["incident"], 2);
    assert_eq!(f["kind"]["comment"], 1);
    assert_eq!(f["kind"]["item"], 1);
    assert_eq!(f["platform"]["telegram"], 2);
    assert_eq!(f["platform"]["x"], 1);
    assert_eq!(f["sensitivity"]["graphic-violence"], 2);
    assert_eq!(f["tag"]["pow.violence"], 1);
    assert_eq!(f["status"]["verified"], 1);
    // Facets follow the filters.
    q.platforms = vec!["telegram".into()];
    let results = search(&index, &q);
    assert_eq!(results.facets["kind"].get("comment"), None);
    assert_eq!(results.facets["platform"].len(), 1);
}

fn permission_index() -> SearchIndex {
    let mut mine = incident("mine", "Prisoner video", "shared in our collection");
    mine.tags = vec!["pow.violence".into()];
    mine.platform = Some("telegram".into());
    let mut theirs = SearchDoc {
        collection_id: 2,
        ..incident("theirs", "Prisoner video", "other collection")
    };
    theirs.tags = vec!["pow.secret_tag".into()];
    theirs.platform = Some("secret-platform".into());
    theirs.status = Some("secret-status".into());
    let mut person = SearchDoc {
        names: vec!["Prisoner Armen Petrosyan".into()],
        restricted: true,
        ..doc(DocKind::Person, "p1", 1)
    };
    person.status = Some("pow".into());
    person.tags = vec!["pow.restricted_tag".into()];
    let their_person = SearchDoc {
        names: vec!["Prisoner Name".into()],
        restricted: true,
        ..doc(DocKind::Person, "p2", 2)
    };
    index_of(vec![mine, theirs, person, their_person])
}

#[test]
fn a_viewer_never_sees_other_collections_or_restricted_records() {
    let index = permission_index();
    let viewer = Query {
        limit: 100,
        ..Query::new("prisoner", Visibility::Only(vec![1]))
    };
    let results = search(&index, &viewer);
    assert_eq!(ids(&results), ["mine"]);
    assert_eq!(results.total, 1);
    // Facet counts leak nothing either: no value of another collection, none of a person.
    let all_values: Vec<&String> = results.facets.values().flat_map(|v| v.keys()).collect();
    for secret in [
        "pow.secret_tag",
        "secret-platform",
        "secret-status",
        "pow.restricted_tag",
        "pow",
        "person",
    ] {
        assert!(
            !all_values.iter().any(|v| v.as_str() == secret),
            "{secret} leaked: {:?}",
            results.facets
        );
    }
    assert_eq!(results.facets["kind"]["incident"], 1);
    // Not by filtering on them, nor by an empty query, nor by asking for persons.
    for q in [
        Query {
            tags: vec!["pow.secret_tag".into()],
            ..viewer.clone()
        },
        Query {
            kinds: vec![DocKind::Person],
            ..viewer.clone()
        },
        Query {
            text: "Petrosyan".into(),
            ..viewer.clone()
        },
        Query {
            text: "\"other collection\"".into(),
            ..viewer.clone()
        },
    ] {
        let r = search(&index, &q);
        assert_eq!((r.total, r.hits.len()), (0, 0), "{q:?}");
    }
    let browse = search(
        &index,
        &Query {
            text: String::new(),
            ..viewer.clone()
        },
    );
    assert_eq!(ids(&browse), ["mine"]);
    assert_eq!(browse.facets["tag"].len(), 1);
}

#[test]
fn investigators_see_restricted_records_of_their_collections_only() {
    let index = permission_index();
    let investigator = Query {
        include_restricted: true,
        limit: 100,
        ..Query::new("prisoner", Visibility::Only(vec![1]))
    };
    let results = search(&index, &investigator);
    assert_eq!(sorted_ids(&results), ["mine", "p1"]);
    assert_eq!(results.facets["kind"]["person"], 1);
    assert_eq!(results.facets["tag"].get("pow.secret_tag"), None);
    // Admins: everything.
    assert_eq!(
        sorted_ids(&search(&index, &everything("prisoner"))),
        ["mine", "p1", "p2", "theirs"]
    );
    // Several collections.
    let both = Query {
        collections: Visibility::Only(vec![1, 2]),
        ..investigator.clone()
    };
    assert_eq!(search(&index, &both).total, 4);
    // No collection: nothing, whatever else is asked; and the default query sees nothing.
    let none = Query {
        collections: Visibility::Only(vec![]),
        ..investigator
    };
    let r = search(&index, &none);
    assert_eq!((r.total, r.hits.len()), (0, 0));
    assert_eq!(r.facets.len(), 5);
    assert!(r.facets.values().all(|v| v.is_empty()));
    assert_eq!(
        search(
            &index,
            &Query {
                text: "prisoner".into(),
                ..Query::default()
            }
        )
        .total,
        0
    );
}

#[test]
fn upsert_replaces_by_kind_and_id() {
    let mut index = index_of(vec![
        incident("1", "Old title", "old words"),
        doc(DocKind::Item, "1", 1),
    ]);
    assert_eq!(finds(&index, "old"), ["1"]);
    index
        .upsert([incident("1", "New title", "new words")])
        .expect("upsert");
    assert_eq!(
        finds(&index, "new"),
        Vec::<String>::new(),
        "not visible before commit"
    );
    index.commit().expect("commit");
    assert_eq!(finds(&index, "old"), Vec::<String>::new());
    assert_eq!(finds(&index, "new"), ["1"]);
    assert_eq!(
        index.num_docs(),
        2,
        "the item with the same id is another document"
    );
    // Within one batch the last wins.
    index
        .upsert([incident("2", "first", ""), incident("2", "second", "")])
        .expect("upsert");
    index.commit().expect("commit");
    assert_eq!(finds(&index, "first"), Vec::<String>::new());
    assert_eq!(finds(&index, "second"), ["2"]);
    assert_eq!(
        search(&index, &everything("second")).hits[0].title,
        "second"
    );
}

#[test]
fn delete_removes_one_document() {
    let mut index = index_of(vec![
        incident("1", "alpha", ""),
        incident("2", "alpha", ""),
        doc(DocKind::Item, "1", 1),
    ]);
    index.delete(DocKind::Incident, "1").expect("delete");
    index
        .delete(DocKind::Incident, "no-such-id")
        .expect("deleting nothing is fine");
    index.commit().expect("commit");
    assert_eq!(finds(&index, "alpha"), ["2"]);
    assert_eq!(index.num_docs(), 2);
}

#[test]
fn a_bad_date_refuses_the_whole_batch() {
    let mut index = SearchIndex::in_memory().expect("index");
    let bad = SearchDoc {
        date: Some("yesterday".into()),
        ..incident("2", "bad", "")
    };
    let err = index
        .upsert([incident("1", "good", ""), bad])
        .expect_err("invalid date");
    assert!(
        matches!(&err, SearchError::InvalidDate { doc: Some(d), .. } if d == "incident:2"),
        "{err}"
    );
    index.commit().expect("commit");
    assert_eq!(index.num_docs(), 0);
}

#[test]
fn persists_across_reopen_and_refuses_another_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("search");
    {
        let mut index = SearchIndex::open(&path).expect("create");
        index
            .upsert([incident("1", "Գերիների փոխանակում", "обмен пленными")])
            .expect("upsert");
        index.commit().expect("commit");
        index
            .upsert([incident("2", "never committed", "")])
            .expect("upsert");
    }
    let index = SearchIndex::open(&path).expect("reopen");
    assert_eq!(index.num_docs(), 1);
    assert_eq!(finds(&index, "գերի"), ["1"]);
    assert_eq!(finds(&index, "пленный"), ["1"]);
    assert_eq!(finds(&index, "committed"), Vec::<String>::new());
    drop(index);

    // A commit by another version of the analysis: refused, to be rebuilt.
    {
        let raw = tantivy::Index::open_in_dir(&path).expect("open with tantivy");
        let mut writer: tantivy::IndexWriter =
            raw.writer_with_num_threads(1, 15_000_000).expect("writer");
        let mut prepared = writer.prepare_commit().expect("prepare");
        prepared.set_payload("vigil-search/0");
        prepared.commit().expect("commit");
    }
    let err = SearchIndex::open(&path).expect_err("another version");
    assert_eq!(err.code(), "incompatible-index");

    // A directory holding some other tantivy index.
    let other = dir.path().join("other");
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_text_field("x", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(
        &{
            std::fs::create_dir(&other).expect("mkdir");
            other.clone()
        },
        builder.build(),
    )
    .expect("create");
    assert_eq!(
        SearchIndex::open(&other)
            .expect_err("another schema")
            .code(),
        "incompatible-index"
    );
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut first = SearchIndex::open(dir.path()).expect("open");
    let mut second = SearchIndex::open(dir.path()).expect("a second reader opens");
    first
        .upsert([incident("1", "a", "")])
        .expect("first writer");
    let err = second
        .upsert([incident("2", "b", "")])
        .expect_err("second writer");
    assert_eq!(err.code(), "locked");
    first.commit().expect("commit");
    second.commit().expect("commit without writes reloads");
    assert_eq!(second.num_docs(), 1);
}

#[test]
fn paging_limits_and_browse_order() {
    let docs: Vec<SearchDoc> = (0..30)
        .map(|i| SearchDoc {
            date: Some(format!("2023-01-{:02}", i + 1)),
            ..incident(&i.to_string(), "common", "")
        })
        .collect();
    let index = index_of(docs);
    let page = |offset, limit| {
        let q = Query {
            offset,
            limit,
            ..everything("common")
        };
        search(&index, &q)
    };
    let first = page(0, 10);
    let second = page(10, 10);
    assert_eq!(first.total, 30);
    assert_eq!(first.hits.len(), 10);
    assert!(ids(&first).iter().all(|id| !ids(&second).contains(id)));
    assert_eq!(page(25, 10).hits.len(), 5);
    assert_eq!(page(100, 10).hits.len(), 0);
    let counts_only = page(0, 0);
    assert_eq!((counts_only.total, counts_only.hits.len()), (30, 0));
    assert_eq!(page(0, usize::MAX).hits.len(), 30);
    assert_eq!(page(usize::MAX, usize::MAX).hits.len(), 0);
    // No words: newest first.
    let browse = search(
        &index,
        &Query {
            limit: 3,
            ..everything("")
        },
    );
    assert_eq!(ids(&browse), ["29", "28", "27"]);
    assert!(browse.hits.iter().all(|h| h.score == 0.0));
}

#[test]
fn hits_carry_title_and_a_plain_snippet() {
    let body = format!(
        "{} the <b>prisoner</b> was shown & filmed. {}",
        "filler ".repeat(30),
        "more ".repeat(50)
    );
    let index = index_of(vec![incident("1", "Title <script>", &body)]);
    let hit = &search(&index, &everything("prisoners")).hits[0];
    assert_eq!(hit.kind, DocKind::Incident);
    assert_eq!(
        hit.title, "Title <script>",
        "returned as given: the caller escapes"
    );
    assert!(
        hit.snippet.contains("<b>prisoner</b> was shown & filmed"),
        "{}",
        hit.snippet
    );
    assert_eq!(
        hit.highlights
            .iter()
            .map(|r| &hit.snippet[r.clone()])
            .collect::<Vec<_>>(),
        ["prisoner"]
    );
    assert!(hit.score > 0.0);
}

#[test]
fn hostile_queries_never_fail() {
    let index = permission_index();
    let long_word = "x".repeat(100_000);
    let many_words = "word ".repeat(10_000);
    let many_phrases = "\"a b\" ".repeat(5_000);
    let many_prefixes = "abc* ".repeat(10_000);
    let control: String = (0u8..32).map(char::from).collect();
    let hostile = [
        "",
        " ",
        "*",
        "**",
        "\"",
        "\"\"\"",
        "\"unbalanced",
        "unbalanced\"",
        "AND OR NOT",
        "NOT",
        "prisoner AND",
        "(prisoner OR",
        "title:prisoner",
        "prisoner^10 ~2 [a TO b] {x} /re.*gex/",
        ".* \\ $ ^ | ? + ( ) [ ] { }",
        "\u{0301}\u{0308}",
        "\u{200B}\u{FEFF}\u{00AD}",
        "\u{202E}reversed\u{202C}",
        "🔥💀🇦🇲",
        "\u{FFFD}\u{FFFF}",
        "%00%27%22",
        "'; DROP TABLE items; --",
        "<script>alert(1)</script>",
        "prisonerprisonerprisonerprisoner*",
        "ա*",
        control.as_str(),
        long_word.as_str(),
        many_words.as_str(),
        many_phrases.as_str(),
        many_prefixes.as_str(),
    ];
    for text in hostile {
        let q = Query {
            limit: 10,
            ..Query::new(text, Visibility::Only(vec![1]))
        };
        let started = std::time::Instant::now();
        let results = index
            .search(&q)
            .unwrap_or_else(|e| panic!("{:?}: {e}", &text[..text.len().min(40)]));
        assert!(started.elapsed().as_secs() < 5, "bounded work");
        assert!(
            results.hits.iter().all(|h| h.id == "mine"),
            "{:?}",
            &text[..text.len().min(40)]
        );
    }
    // What the hostile syntax still finds, read as words.
    let q = |text: &str| {
        sorted_ids(&search(
            &index,
            &Query::new(text, Visibility::Only(vec![1])),
        ))
    };
    assert_eq!(
        q("(prisoner OR"),
        ["mine"],
        "or is a function word: optional"
    );
    assert_eq!(
        q("prisoner NOT"),
        Vec::<String>::new(),
        "not is a word, and ANDed"
    );
    assert_eq!(q("\"prisoner"), ["mine"]);
    assert_eq!(q("prisoner*"), ["mine"]);
    assert_eq!(
        q("title:prisoner^10"),
        Vec::<String>::new(),
        "title and 10 are words too"
    );
    assert_eq!(q("*"), ["mine"], "no word: everything the viewer may see");
}
