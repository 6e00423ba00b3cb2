//! Search at scale (issue 7: p95 < 50 ms with 1M indexed records): builds an index of `N`
//! synthetic records — mixed Armenian, Russian, English and Azerbaijani text drawn from word
//! lists with a Zipf distribution plus a long tail of generated words, 30–200 words a body, tags,
//! statuses, platforms, sensitivity labels, dates and 50 collections varied — then runs
//! `QUERIES` mixed queries one at a time on one thread (single words, two words, prefixes,
//! phrases, filters, a viewer's collections) and prints build time, index size on disk, and
//! query latency percentiles and queries per second. bench/search.sh runs it.
//!
//!   cargo bench -p vigil-search --bench search
//!
//! Environment: `N` [1000000] records; `QUERIES` [1000]; `THREADS` [2] indexing threads;
//! `WRITER_MB` [512] indexing memory, all threads; `INDEX_DIR` [a temporary directory, removed
//! afterwards] where the index is built (kept when given); `REUSE=1` searches an index already
//! in `INDEX_DIR` with `N` records instead of building it; `MERGE=1` also merges the segments
//! into one and runs the queries again; `SEED` [7].

use std::path::Path;
use std::time::{Duration, Instant};

use vigil_search::{DocKind, Query, SearchDoc, SearchIndex, Visibility, WriterOptions};

/// splitmix64: a small, fast, seedable generator (no dependency for a benchmark's data).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Draws ranks 0..n with probability ∝ 1/(rank+1): word frequencies in text are Zipfian.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        Zipf(
            (0..n)
                .map(|r| {
                    total += 1.0 / (r as f64 + 1.0);
                    total
                })
                .collect(),
        )
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.0.last().copied().unwrap_or(1.0);
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.0.partition_point(|c| *c < x).min(self.0.len() - 1)
    }
}

const ARMENIAN: [&str; 2] = [
    "և է են որ այդ այս մեկ երկու երեք վրա հետ մասին համար կողմից ընթացքում հետո առաջ մոտ",
    "գերի գերիներ գերիների գերիներին զինվոր զինվորներ զինվորի զինվորական տեսանյութ տեսանյութը \
        տեսանյութում լուսանկար լուսանկարներ դաժան վերաբերմունք ծեծ ծեծում սպանություն սպանված \
        մարմին մարմինը աճյուն աճյունների փոխանակում անհայտ կորած ազատ արձակված պատերազմ \
        պատերազմական հանցագործություն հանցագործ բանակ ադրբեջանական հայկական գյուղ քաղաք սահման \
        դիրք կրակ հրթիռ արկ ռմբակոծում խաղաղ բնակիչ բնակիչներ երեխա երեխաներ կին տղամարդ ծերունի \
        հարցաքննություն խոշտանգում նվաստացում հրապարակում հրապարակված տարածված սոցիալական ցանց \
        ալիք ուղարկված վկա վկայություն փաստաթուղթ ապացույց արձանագրություն քննություն դատարան \
        իրավունք միջազգային կոնվենցիա Ժնև Արցախ Ստեփանակերտ Շուշի Հադրութ Մարտակերտ Լաչին Գորիս \
        Ջերմուկ Սյունիք Տավուշ Երևան սեպտեմբեր հոկտեմբեր նոյեմբեր օր գիշեր ժամ առավոտ երեկո",
];
const RUSSIAN: [&str; 2] = [
    "в на и с по из у о что это как после до около",
    "пленный пленного пленные пленных пленными солдат солдата солдаты солдатами военнопленный \
        военнопленных видео видеозапись фото фотография допрос допроса пытки пыток избиение \
        убийство убит убитых тело тела останки останков обмен обмена пропавший пропавших без вести \
        освобожден освобождены война войны военный преступление преступления армия армии \
        азербайджанский армянский село села город граница позиция обстрел обстрела ракета снаряд \
        мирный мирных житель жителей ребенок дети женщина мужчина старик унижение публикация \
        опубликовано распространено канал канале Телеграм сеть свидетель свидетельство документ \
        доказательство расследование суд право международное конвенция Женевская Карабах \
        Степанакерт Шуша Гадрут Лачин Горис сентябрь сентября октября ноября день ночь утром \
        вечером",
];
const ENGLISH: [&str; 2] = [
    "the of and a in to was were by on with from after before near during",
    "prisoner prisoners soldier soldiers captured captive captives video footage photo \
        photograph interrogation torture tortured beating beaten killing killed execution executed \
        body bodies remains exchange exchanged missing released war crime crimes army military \
        Azerbaijani Armenian village town border position shelling shelled missile shell civilian \
        civilians resident child children woman man elderly humiliation publication published \
        posted shared channel Telegram network witness testimony document evidence investigation \
        court law international convention Geneva Karabakh Stepanakert Shusha Hadrut Lachin Goris \
        September October November day night morning evening",
];
const AZERBAIJANI: [&str; 2] = [
    "və bu bir ilə üçün sonra əvvəl yaxın zamanı da də",
    "əsir əsirlər əsirləri əsirlərin hərbçi hərbçilər əsgər əsgərlər video videosu görüntü \
        görüntülər foto şəkil dindirmə işgəncə döyülmə qətl öldürülmüş cəsəd cəsədlər qalıqlar \
        mübadilə itkin azad edilmiş müharibə cinayət cinayətləri ordu ordusu erməni azərbaycanlı \
        kənd şəhər sərhəd mövqe atəş raket mərmi dinc sakin sakinlər uşaq uşaqlar qadın kişi qoca \
        alçaldılma dərc yayılıb kanal Teleqram şahid ifadə sənəd sübut araşdırma məhkəmə hüquq \
        beynəlxalq konvensiya Cenevrə Qarabağ Xankəndi Şuşa Hadrut Laçın Ağdam Füzuli sentyabr \
        oktyabr noyabr gün gecə səhər axşam",
];

const NAMES: &str = "Արամ Արմեն Դավիթ Գոռ Նարեկ Տիգրան Հայկ Վահե Աշոտ Սարգիս Պետրոսյան Հովհաննիսյան \
    Գրիգորյան Սարգսյան Հարությունյան Մկրտչյան Ավետիսյան Խաչատրյան Aram Armen Davit Gor Narek Tigran \
    Hayk Vahe Ashot Sargis Petrosyan Hovhannisyan Grigoryan Sargsyan Harutyunyan Mkrtchyan Avetisyan \
    Khachatryan Ramil İlham Elvin Rəşad Tural Orxan Vüqar Elçin Əli Həsən Əliyev Məmmədov Həsənov \
    Hüseynov Quliyev Rzayev Cəfərov İsmayılov Рамиль Арам Тигран Ильхам Армен Алиев Мамедов Петросян \
    Григорян Гасанов";

/// Syllables per script for the long tail of rarer words (places, surnames, jargon, typos).
const SYLLABLES: [&[&str]; 4] = [
    &[
        "ա", "բա", "գե", "դի", "զո", "թու", "կա", "լե", "մի", "նո", "պա", "ռու", "սե", "տի", "րո",
        "ցա", "փե", "քի", "յան", "ներ", "ում", "ից",
    ],
    &[
        "ба", "ве", "го", "ду", "жи", "за", "ко", "ли", "ма", "но", "пе", "ро", "са", "ти", "ун",
        "фо", "ха", "це", "ше", "ый", "ов", "ая",
    ],
    &[
        "ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu", "na", "pe", "ri", "so", "tu",
        "va", "we", "xi", "yo", "zu", "er", "ing",
    ],
    &[
        "ba", "cə", "dı", "fo", "gü", "ha", "xə", "ki", "lo", "mü", "na", "pe", "rı", "so", "tu",
        "və", "qa", "şi", "yo", "zü", "lər", "çı",
    ],
];

const TAGS: [&str; 16] = [
    "pow.violence",
    "pow.humiliation",
    "pow.public_curiosity",
    "pow.mutilation",
    "pow.execution",
    "dead.mistreatment",
    "dead.mutilation",
    "missing.unaccounted",
    "missing.remains",
    "detainee.torture",
    "detainee.incommunicado",
    "hostilities.civilians",
    "hostilities.ceasefire_violation",
    "hostilities.cultural_property",
    "media.identifiable_pow_images",
    "media.deceptive",
];
const PLATFORMS: [&str; 7] = [
    "telegram",
    "x",
    "youtube",
    "facebook",
    "tiktok",
    "vk",
    "instagram",
];
const SENSITIVITY: [&str; 4] = [
    "graphic-violence",
    "identifiable-prisoner",
    "personal-data",
    "deceptive",
];
const INCIDENT_STATUS: [&str; 4] = ["new", "in-review", "verified", "reported"];
const PERSON_STATUS: [&str; 6] = [
    "pow",
    "detained",
    "missing",
    "deceased",
    "remains-returned",
    "released",
];
const COLLECTIONS: usize = 50;
const RARE_WORDS: usize = 20_000;

/// The vocabulary: per language, common words (function words first, then content words; Zipf
/// over the list) and a long tail.
struct Corpus {
    common: [Vec<&'static str>; 4],
    function_words: [usize; 4],
    rare: [Vec<String>; 4],
    names: Vec<&'static str>,
    zipf_common: [Zipf; 4],
    zipf_content: [Zipf; 4],
    zipf_rare: Zipf,
}

impl Corpus {
    fn new(rng: &mut Rng) -> Self {
        let lists = [ARMENIAN, RUSSIAN, ENGLISH, AZERBAIJANI];
        let function_words = lists.map(|[function, _]| function.split_whitespace().count());
        let common = lists.map(|[function, content]| {
            function
                .split_whitespace()
                .chain(content.split_whitespace())
                .collect::<Vec<_>>()
        });
        let rare = SYLLABLES.map(|syllables| {
            (0..RARE_WORDS)
                .map(|_| {
                    (0..2 + rng.below(3))
                        .map(|_| *rng.pick(syllables))
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
        });
        let zipf_common = [0, 1, 2, 3].map(|l| Zipf::new(common[l].len()));
        let zipf_content = [0, 1, 2, 3].map(|l| Zipf::new(common[l].len() - function_words[l]));
        Corpus {
            common,
            function_words,
            zipf_content,
            rare,
            names: NAMES.split_whitespace().collect(),
            zipf_common,
            zipf_rare: Zipf::new(RARE_WORDS),
        }
    }

    fn word(&self, lang: usize, rng: &mut Rng) -> &str {
        if rng.chance(20) {
            &self.rare[lang][self.zipf_rare.draw(rng)]
        } else {
            self.common[lang][self.zipf_common[lang].draw(rng)]
        }
    }

    /// A word someone would search for: a content word (Zipf) or, one time in five, a rarer one.
    fn query_word(&self, lang: usize, rng: &mut Rng) -> &str {
        if rng.chance(20) {
            &self.rare[lang][self.zipf_rare.draw(rng)]
        } else {
            self.common[lang][self.function_words[lang] + self.zipf_content[lang].draw(rng)]
        }
    }

    fn text(&self, lang: usize, words: usize, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(words * 9);
        for i in 0..words {
            // Some text in a second language (quotes, platform captions, place names).
            let l = if rng.chance(15) { rng.below(4) } else { lang };
            if i > 0 {
                out.push(if rng.chance(8) { '.' } else { ' ' });
                if out.ends_with('.') {
                    out.push(' ');
                }
            }
            out.push_str(self.word(l, rng));
        }
        out
    }

    fn doc(&self, i: usize, rng: &mut Rng) -> SearchDoc {
        let lang = rng.below(4);
        let kind = match rng.below(100) {
            0..50 => DocKind::Item,
            50..70 => DocKind::Incident,
            70..95 => DocKind::Comment,
            _ => DocKind::Person,
        };
        let mut doc = SearchDoc {
            kind,
            id: i.to_string(),
            collection_id: 1 + rng.below(COLLECTIONS) as i64,
            title: self.text(lang, 3 + rng.below(6), rng),
            body: self.text(lang, 30 + rng.below(171), rng),
            ..SearchDoc::default()
        };
        for _ in 0..rng.below(4) {
            doc.tags.push((*rng.pick(&TAGS)).to_owned());
        }
        for _ in 0..rng.below(3) {
            doc.sensitivity.push((*rng.pick(&SENSITIVITY)).to_owned());
        }
        match kind {
            DocKind::Item => {
                doc.platform = Some((*rng.pick(&PLATFORMS)).to_owned());
                doc.names = vec![format!(
                    "{} {}",
                    rng.pick(&self.names),
                    rng.pick(&self.names)
                )];
            }
            DocKind::Incident => doc.status = Some((*rng.pick(&INCIDENT_STATUS)).to_owned()),
            DocKind::Person => {
                doc.status = Some((*rng.pick(&PERSON_STATUS)).to_owned());
                doc.names = (0..1 + rng.below(3))
                    .map(|_| format!("{} {}", rng.pick(&self.names), rng.pick(&self.names)))
                    .collect();
                doc.title = doc.names[0].clone();
                doc.restricted = true;
            }
            DocKind::Comment => {}
        }
        if !rng.chance(10) {
            let (y, m, d) = (2020 + rng.below(5), 1 + rng.below(12), 1 + rng.below(28));
            doc.date = Some(match rng.below(10) {
                0 => format!("{y}"),
                1..3 => format!("{y}-{m:02}"),
                _ => format!("{y}-{m:02}-{d:02}"),
            });
        }
        doc
    }

    /// A query of one of the mixes the issue asks for; returns its category too. Query words are
    /// content words (people search for `пленный`, not `и`), except the "stop word" category: one
    /// function word alone, the worst case (it matches most of the index).
    fn query(&self, rng: &mut Rng) -> (&'static str, Query) {
        let lang = rng.below(4);
        let admin = |text: String| Query {
            include_restricted: true,
            ..Query::new(text, Visibility::All)
        };
        match rng.below(100) {
            0..22 => ("one word", admin(self.query_word(lang, rng).to_owned())),
            22..42 => {
                let a = self.query_word(lang, rng).to_owned();
                (
                    "two words",
                    admin(format!("{a} {}", self.query_word(lang, rng))),
                )
            }
            42..52 => {
                let word = loop {
                    let w = self.query_word(lang, rng);
                    if w.chars().count() >= 5 {
                        break w;
                    }
                };
                let cut = 3 + rng.below(3);
                (
                    "prefix",
                    admin(format!("{}*", word.chars().take(cut).collect::<String>())),
                )
            }
            52..57 => (
                "rare word",
                admin(self.rare[lang][self.zipf_rare.draw(rng)].clone()),
            ),
            57..62 => {
                let a = self.query_word(lang, rng).to_owned();
                (
                    "phrase",
                    admin(format!("\"{a} {}\"", self.query_word(lang, rng))),
                )
            }
            62..77 => {
                let mut q = admin(self.query_word(lang, rng).to_owned());
                match rng.below(4) {
                    0 => q.tags = vec![(*rng.pick(&TAGS)).to_owned()],
                    1 => {
                        q.kinds = vec![DocKind::Incident];
                        q.statuses = vec![(*rng.pick(&INCIDENT_STATUS)).to_owned()];
                    }
                    2 => {
                        let y = 2020 + rng.below(5);
                        q.date_from = Some(format!("{y}-03"));
                        q.date_to = Some(format!("{y}-09"));
                    }
                    _ => {
                        q.platforms = vec![(*rng.pick(&PLATFORMS)).to_owned()];
                        q.sensitivity = vec![(*rng.pick(&SENSITIVITY)).to_owned()];
                    }
                }
                ("filters", q)
            }
            77..97 => {
                let collections = (0..3).map(|_| 1 + rng.below(COLLECTIONS) as i64).collect();
                let text = if rng.chance(50) {
                    self.query_word(lang, rng).to_owned()
                } else {
                    format!(
                        "{} {}",
                        self.query_word(lang, rng),
                        self.query_word(lang, rng)
                    )
                };
                ("viewer", Query::new(text, Visibility::Only(collections)))
            }
            _ => (
                "stop word",
                admin(self.common[lang][rng.below(self.function_words[lang])].to_owned()),
            ),
        }
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    ms(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn run_queries(
    index: &SearchIndex,
    queries: &[(&'static str, Query)],
    label: &str,
) -> Result<(), vigil_search::SearchError> {
    // Warm up: the first queries page the index in.
    for (_, q) in queries.iter().take(50) {
        index.search(q)?;
    }
    let mut all = Vec::with_capacity(queries.len());
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut hits = 0usize;
    let started = Instant::now();
    for (kind, q) in queries {
        let t = Instant::now();
        let results = index.search(q)?;
        let elapsed = t.elapsed();
        hits += results.total;
        all.push(elapsed);
        by_kind.entry(kind).or_default().push(elapsed);
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "{label}: {} queries, one thread: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} queries/s (mean matches {:.0})",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 95.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0),
        all.len() as f64 / wall.as_secs_f64(),
        hits as f64 / all.len().max(1) as f64
    );
    for (kind, mut times) in by_kind {
        times.sort();
        println!(
            "  {kind:<10} {:>4} queries: p50 {:>6.2} ms, p95 {:>6.2} ms, p99 {:>6.2} ms",
            times.len(),
            percentile(&times, 50.0),
            percentile(&times, 95.0),
            percentile(&times, 99.0)
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = env("N", 1_000_000);
    let query_count: usize = env("QUERIES", 1000);
    let threads: usize = env("THREADS", 2);
    let writer_mb: usize = env("WRITER_MB", 512);
    let seed: u64 = env("SEED", 7);
    let reuse = env("REUSE", 0) == 1;
    let merge = env("MERGE", 0) == 1;
    let temp;
    let dir = match std::env::var_os("INDEX_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().join("search")
        }
    };
    let mut rng = Rng(seed);
    let corpus = Corpus::new(&mut rng);
    let options = WriterOptions {
        threads,
        memory_bytes: writer_mb << 20,
    };
    let mut index = SearchIndex::open_with(&dir, options)?;
    println!(
        "vigil-search: {n} records, index at {}, {} cores",
        dir.display(),
        std::thread::available_parallelism()?
    );
    if reuse && index.num_docs() == n as u64 {
        println!("reusing the index there ({} records)", index.num_docs());
    } else {
        let started = Instant::now();
        let mut generating = Duration::ZERO;
        let mut text_bytes = 0usize;
        let mut i = 0;
        while i < n {
            let t = Instant::now();
            let batch: Vec<SearchDoc> = (i..(i + 10_000).min(n))
                .map(|k| corpus.doc(k, &mut rng))
                .collect();
            text_bytes += batch
                .iter()
                .map(|d| {
                    d.title.len() + d.body.len() + d.names.iter().map(String::len).sum::<usize>()
                })
                .sum::<usize>();
            generating += t.elapsed();
            i += batch.len();
            index.upsert(batch)?;
            if i % 100_000 == 0 {
                eprintln!("  {i} records, {:.0} s", started.elapsed().as_secs_f64());
            }
        }
        index.commit()?;
        let build = started.elapsed() - generating;
        println!(
            "build: {:.1} s indexing ({:.0} records/s, {:.1} MB/s of text; {} indexing threads, {writer_mb} MiB), plus {:.1} s generating the records",
            build.as_secs_f64(),
            n as f64 / build.as_secs_f64(),
            text_bytes as f64 / 1e6 / build.as_secs_f64(),
            threads,
            generating.as_secs_f64()
        );
    }
    println!(
        "index: {} records, {:.1} MiB on disk ({:.0} bytes a record), peak RSS {} MiB",
        index.num_docs(),
        dir_size(&dir) as f64 / 1048576.0,
        dir_size(&dir) as f64 / index.num_docs().max(1) as f64,
        peak_rss_mib()
    );
    let queries: Vec<(&'static str, Query)> =
        (0..query_count).map(|_| corpus.query(&mut rng)).collect();
    run_queries(&index, &queries, "search")?;
    if merge {
        let started = Instant::now();
        index.merge_segments()?;
        println!(
            "merged into one segment in {:.1} s; {:.1} MiB on disk",
            started.elapsed().as_secs_f64(),
            dir_size(&dir) as f64 / 1048576.0
        );
        run_queries(&index, &queries, "search, one segment")?;
    }
    Ok(())
}
