//! Named-entity tagger: averaged-perceptron greedy BILOU tagger over hashed features
//! (words, shapes, affixes, word clusters, gazetteers, document history) plus a
//! document-level pass (one type per name, person-name linking, title/possessive stripping).

pub mod conll;
pub mod docpass;
pub mod eval;
pub mod features;
pub mod hash;
pub mod lexicon;
pub mod model;
pub mod tokenize;
pub mod train;

use docpass::{DSpan, PassOptions, TokInfo};
use features::{tag_parts, FeatSpace, Workspace};
use hash::lower_hash;
use lexicon::{gaz_step, Lexicon, GAZ_SEED, GAZ_TITLE};
use model::{SparseWeights, Weights};
use once_cell::sync::OnceCell;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use tokenize::Token;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityType {
    Person,
    Org,
    Location,
    Misc,
}

impl EntityType {
    pub const ALL: [EntityType; 4] = [
        EntityType::Person,
        EntityType::Org,
        EntityType::Location,
        EntityType::Misc,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EntityType::Person => "person",
            EntityType::Org => "org",
            EntityType::Location => "location",
            EntityType::Misc => "misc",
        }
    }

    /// CoNLL label: PER, ORG, LOC, MISC.
    pub fn conll(&self) -> &'static str {
        match self {
            EntityType::Person => "PER",
            EntityType::Org => "ORG",
            EntityType::Location => "LOC",
            EntityType::Misc => "MISC",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "per" => Some(EntityType::Person),
            "org" | "organisation" | "organization" => Some(EntityType::Org),
            "location" | "loc" | "place" | "geo" | "gpe" => Some(EntityType::Location),
            "misc" => Some(EntityType::Misc),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mention {
    /// Byte offsets into the text (headline or body) the mention came from.
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
    pub surface: String,
    pub canonical: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DocEntities {
    pub headline: Vec<Mention>,
    pub body: Vec<Mention>,
    /// Tokens tagged (headline and body), for throughput figures.
    pub tokens: usize,
}

/// Trained model: lexicon (clusters, case statistics, gazetteers) and quantised weights.
pub struct Tagger {
    pub(crate) lex: Lexicon,
    pub(crate) weights: SparseWeights,
    pub(crate) fs: FeatSpace,
    pub pass: PassOptions,
    /// Unique id (per-thread caches of per-word scores are keyed on it).
    id: u64,
    /// Use cached per-word score bundles (same scores, faster). Off only for testing.
    pub bundled: bool,
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

static BUILTIN: OnceCell<Tagger> = OnceCell::new();
static BUILTIN_BYTES: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/ner/model.bin"));

#[derive(Default)]
struct Scratch {
    ws: Workspace,
    toks: Vec<Token>,
    /// per global token: (piece, byte range)
    refs: Vec<(u8, Token)>,
    spans: Vec<DSpan>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

struct Info<'a> {
    tagger: &'a Tagger,
    texts: [&'a str; 2],
    refs: &'a [(u8, Token)],
    ws: &'a Workspace,
}

impl Info<'_> {
    fn text(&self, i: usize) -> &str {
        let (p, t) = self.refs[i];
        &self.texts[p as usize][t.start as usize..t.end as usize]
    }
}

impl TokInfo for Info<'_> {
    fn lw(&self, i: usize) -> u64 {
        lower_hash(self.text(i).as_bytes())
    }
    fn is_title(&self, i: usize) -> bool {
        let s = self.text(i).trim_end_matches('.');
        self.tagger.is_title(s) || self.tagger.is_title(self.text(i))
    }
    fn is_possessive(&self, i: usize) -> bool {
        matches!(self.text(i), "'s" | "'S" | "'" | "’s")
    }
    fn name_like(&self, i: usize) -> bool {
        let s = self.text(i);
        let mut ch = s.chars();
        let first_up = ch.next().is_some_and(|c| c.is_uppercase());
        if !first_up || !s.chars().any(|c| c.is_lowercase()) || self.ws.in_caps_or_headline(i) {
            return false;
        }
        // sentence-initial: only if the word is not a common lowercase word
        let sent_initial = self.ws.is_initial(i);
        if sent_initial {
            return self
                .tagger
                .lex
                .lower
                .get(lower_hash(s.as_bytes()))
                .is_none_or(|li| li.lower_frac <= 2);
        }
        true
    }
    fn in_headline(&self, i: usize) -> bool {
        self.ws.in_caps_or_headline(i)
    }
    fn gender(&self, i: usize) -> docpass::Gender {
        gender_of(self.text(i))
    }
    fn is_lower(&self, i: usize) -> bool {
        self.text(i).starts_with(|c: char| c.is_lowercase())
    }
    fn is_role(&self, i: usize) -> bool {
        ROLES.contains(&self.text(i).to_lowercase().as_str())
    }
    fn ends_paragraph(&self, i: usize) -> bool {
        fn blank(s: &str) -> &str {
            s.trim_start_matches([' ', '\t', '\r'])
        }
        let (p, t) = self.refs[i];
        let rest = blank(&self.texts[p as usize][t.end as usize..]);
        p == 1
            && match rest.strip_prefix('\n') {
                None => rest.is_empty(),
                Some(r) => {
                    let r = blank(r);
                    r.is_empty() || r.starts_with('\n')
                }
            }
    }
}

static MALE_FIRST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/ner/gazetteers/male_first_names.txt"
));
static FEMALE_FIRST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/ner/gazetteers/female_first_names.txt"
));
static GENDERED: once_cell::sync::Lazy<HashMap<String, docpass::Gender>> =
    once_cell::sync::Lazy::new(|| {
        use docpass::Gender::{Female, Male};
        let mut m = HashMap::new();
        for (list, g) in [(MALE_FIRST, Male), (FEMALE_FIRST, Female)] {
            for name in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
                m.insert(name.to_lowercase(), g);
            }
        }
        for (title, g) in [
            ("mr", Male),
            ("mister", Male),
            ("sir", Male),
            ("lord", Male),
            ("ms", Female),
            ("mrs", Female),
            ("miss", Female),
            ("madam", Female),
            ("madame", Female),
            ("dame", Female),
            ("lady", Female),
        ] {
            m.insert(title.to_string(), g);
        }
        m
    });

/// Role nouns that stand right before a person's name in news ("union leader X").
const ROLES: &[&str] = &[
    "leader",
    "chief",
    "executive",
    "minister",
    "secretary",
    "president",
    "chairman",
    "chairwoman",
    "director",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "official",
    "analyst",
    "economist",
    "reporter",
    "editor",
    "founder",
    "owner",
    "lawyer",
    "governor",
    "mayor",
    "senator",
    "commissioner",
    "manager",
    "investigator",
    "coach",
    "captain",
    "striker",
    "singer",
    "actor",
    "actress",
    "author",
    "chancellor",
    "premier",
    "ambassador",
    "envoy",
];

/// The gender a word tells: a gendered title or a census first name; Unknown otherwise.
fn gender_of(word: &str) -> docpass::Gender {
    let w = word.trim_end_matches('.').to_lowercase();
    GENDERED
        .get(&w)
        .copied()
        .unwrap_or(docpass::Gender::Unknown)
}

impl Tagger {
    pub(crate) fn new(lex: Lexicon, weights: Weights) -> Tagger {
        Tagger::with_weights(lex, SparseWeights::from_dense(&weights))
    }

    fn with_weights(lex: Lexicon, weights: SparseWeights) -> Tagger {
        Tagger {
            fs: FeatSpace { bits: weights.bits },
            lex,
            weights,
            pass: PassOptions::default(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bundled: true,
        }
    }

    /// The shipped model (parsed once).
    pub fn builtin() -> &'static Tagger {
        BUILTIN.get_or_init(|| {
            Tagger::from_bytes(BUILTIN_BYTES).expect("built-in NER model is corrupt")
        })
    }

    pub fn from_bytes(b: &[u8]) -> anyhow::Result<Tagger> {
        let (lex, w) = model::from_bytes(b)?;
        Ok(Tagger::with_weights(lex, w))
    }

    pub fn load(path: &Path) -> anyhow::Result<Tagger> {
        let b =
            std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Tagger::from_bytes(&b)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(d) = path.parent() {
            if !d.as_os_str().is_empty() {
                std::fs::create_dir_all(d)?;
            }
        }
        std::fs::write(path, model::to_bytes(&self.lex, &self.weights.to_dense()))?;
        Ok(())
    }

    fn is_title(&self, s: &str) -> bool {
        let k = gaz_step(GAZ_SEED, lower_hash(s.as_bytes()));
        self.lex.gaz.get(k).is_some_and(|f| f & GAZ_TITLE != 0)
    }

    /// Tags the sentences added to the scratch workspace and collects their entity spans.
    fn decode_spans(&self, sc: &mut Scratch) {
        sc.ws.finish(&self.lex, self.fs, self.bundled);
        #[cfg(target_arch = "x86_64")]
        if *HAS_POPCNT {
            // SAFETY: the CPU has the popcnt instruction (checked at run time).
            unsafe { decode_popcnt(&mut sc.ws, &self.weights, self.fs, self.id) };
            collect_spans(&sc.ws, &mut sc.spans);
            return;
        }
        sc.ws
            .decode(&self.weights, self.fs, self.id, None, &mut |_, _, _, _| {});
        collect_spans(&sc.ws, &mut sc.spans);
    }

    /// Tokenize, tag and run the document pass over one article.
    pub fn tag_document(&self, headline: &str, body: &str) -> DocEntities {
        SCRATCH.with(|sc| {
            let mut sc = sc.borrow_mut();
            let sc = &mut *sc;
            sc.ws.begin(self.id);
            sc.refs.clear();
            for (piece, text) in [(0u8, headline), (1u8, body)] {
                sc.toks.clear();
                tokenize::tokenize_into(text, &mut sc.toks);
                let b = text.as_bytes();
                let mut s0 = 0;
                let n = sc.toks.len();
                for k in 0..n {
                    let t = sc.toks[k];
                    let end_here = if k + 1 == n {
                        true
                    } else if piece == 0 {
                        false
                    } else {
                        let nx = sc.toks[k + 1];
                        let gap = &b[t.end as usize..nx.start as usize];
                        let tk = &b[t.start as usize..t.end as usize];
                        gap.contains(&b'\n')
                            || (matches!(tk, b"." | b"?" | b"!")
                                && !b[nx.start as usize].is_ascii_lowercase())
                            || k + 1 - s0 >= 150
                    };
                    if end_here {
                        let sl = &sc.toks[s0..=k];
                        sc.ws.add_sentence(&self.lex, text, sl, piece == 0);
                        sc.refs.extend(sl.iter().map(|t| (piece, *t)));
                        s0 = k + 1;
                    }
                }
            }
            self.decode_spans(sc);
            let info = Info {
                tagger: self,
                texts: [headline, body],
                refs: &sc.refs,
                ws: &sc.ws,
            };
            docpass::run(&mut sc.spans, sc.refs.len(), &info, self.pass);
            let mut out = DocEntities {
                tokens: sc.refs.len(),
                ..Default::default()
            };
            for s in &sc.spans {
                let (p, a) = sc.refs[s.start];
                let (_, b) = sc.refs[s.end - 1];
                let text = info.texts[p as usize];
                let surface = &text[a.start as usize..b.end as usize];
                let (cp, ca) = sc.refs[s.canon.0];
                let (_, cb) = sc.refs[s.canon.1 - 1];
                let canonical = &info.texts[cp as usize][ca.start as usize..cb.end as usize];
                let m = Mention {
                    start: a.start as usize,
                    end: b.end as usize,
                    kind: s.kind,
                    surface: surface.to_string(),
                    canonical: canonical.to_string(),
                };
                if p == 0 {
                    out.headline.push(m);
                } else {
                    out.body.push(m);
                }
            }
            out
        })
    }

    /// Tags one pre-tokenized article (sentence 0 is treated as the headline), running the
    /// same features, decoder and document pass as [`Tagger::tag_document`].
    /// Returns spans per sentence over that sentence's token indices.
    pub fn tag_pretokenized<S: AsRef<str>>(
        &self,
        sentences: &[Vec<S>],
    ) -> Vec<Vec<conll::TokSpan>> {
        SCRATCH.with(|sc| {
            let mut sc = sc.borrow_mut();
            let sc = &mut *sc;
            let mut joined = String::new();
            let mut bounds = Vec::with_capacity(sentences.len());
            sc.ws.begin(self.id);
            sc.refs.clear();
            for (k, s) in sentences.iter().enumerate() {
                sc.toks.clear();
                let base = joined.len();
                for w in s {
                    let w = w.as_ref();
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    let st = joined.len();
                    joined.push_str(w);
                    sc.toks.push(Token {
                        start: st as u32,
                        end: joined.len() as u32,
                    });
                }
                let _ = base;
                bounds.push((sc.refs.len(), sc.refs.len() + s.len()));
                sc.refs.extend(sc.toks.iter().map(|t| (1u8, *t)));
                let toks = std::mem::take(&mut sc.toks);
                sc.ws.add_sentence(&self.lex, &joined, &toks, k == 0);
                sc.toks = toks;
            }
            self.decode_spans(sc);
            let info = Info {
                tagger: self,
                texts: ["", &joined],
                refs: &sc.refs,
                ws: &sc.ws,
            };
            docpass::run(&mut sc.spans, sc.refs.len(), &info, self.pass);
            let mut out = vec![Vec::new(); sentences.len()];
            for s in &sc.spans {
                if let Some(k) = bounds.iter().position(|&(a, b)| a <= s.start && s.end <= b) {
                    out[k].push(conll::TokSpan {
                        start: s.start - bounds[k].0,
                        end: s.end - bounds[k].0,
                        kind: s.kind,
                    });
                }
            }
            out
        })
    }

    /// Number of tokens in the vocabulary with a cluster, for reporting.
    pub fn stats(&self) -> (usize, usize, u32) {
        (
            self.lex.vocab.len(),
            self.lex.clusters.len(),
            self.weights.bits,
        )
    }
}

#[cfg(target_arch = "x86_64")]
static HAS_POPCNT: once_cell::sync::Lazy<bool> =
    once_cell::sync::Lazy::new(|| std::arch::is_x86_feature_detected!("popcnt"));

/// The decoder compiled with the popcnt instruction: every weight lookup counts bits (the
/// rank of a row in [`SparseWeights`]), which without it takes a dozen instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn decode_popcnt(ws: &mut Workspace, w: &SparseWeights, fs: FeatSpace, id: u64) {
    ws.decode(w, fs, id, None, &mut |_, _, _, _| {});
}

/// Spans from the decoded BILOU tags (never crossing sentences).
pub(crate) fn collect_spans(ws: &Workspace, out: &mut Vec<DSpan>) {
    out.clear();
    for (si, s) in ws.sents.iter().enumerate() {
        let mut open: Option<(usize, usize)> = None;
        for i in s.start..s.end {
            match tag_parts(ws.tags[i] as usize) {
                None => {
                    if let Some((st, k)) = open.take() {
                        out.push(mk(si, st, i, k));
                    }
                }
                Some((k, pos)) => {
                    if pos == 0 || pos == 3 || open.is_none_or(|(_, ok)| ok != k) {
                        if let Some((st, ok)) = open.take() {
                            out.push(mk(si, st, i, ok));
                        }
                        open = Some((i, k));
                    }
                    if pos >= 2 {
                        let (st, ok) = open.take().unwrap();
                        out.push(mk(si, st, i + 1, ok));
                    }
                }
            }
        }
        if let Some((st, k)) = open {
            out.push(mk(si, st, s.end, k));
        }
    }
    out.sort_by_key(|s| s.start);
}

fn mk(sent: usize, start: usize, end: usize, k: usize) -> DSpan {
    DSpan {
        sent,
        start,
        end,
        kind: EntityType::ALL[k],
        canon: (start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpora_dir() -> Option<std::path::PathBuf> {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
        [local, std::path::PathBuf::from("/work/shared/corpora")]
            .into_iter()
            .find(|p| p.join("conll2003/eng.testa").exists())
    }

    /// The gazetteer lookup stops at the first words that begin no longer entry; that is
    /// only right if the shipped model marks every beginning of every entry it knows.
    #[test]
    fn builtin_model_marks_every_beginning_of_a_gazetteer_entry() {
        use lexicon::{gaz_entry_keys, GAZ_PREFIX};
        let gaz = &Tagger::builtin().lex.gaz;
        let flags = |k: u64| gaz.get(k).copied().unwrap_or(0);
        let mut lex = Lexicon::default();
        lex.load_gazetteers(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ner/gazetteers"))
            .unwrap();
        let mut long = 0;
        for (class, entry) in &lex.gazetteer {
            let keys = gaz_entry_keys(entry);
            let Some((&own, begins)) = keys.split_last() else {
                continue;
            };
            for (k, &key) in begins.iter().enumerate() {
                assert!(
                    flags(key) & GAZ_PREFIX != 0,
                    "{entry:?}: words 1..={} unmarked",
                    k + 1
                );
            }
            assert!(flags(own) & class != 0, "{entry:?} missing from the model");
            long += !begins.is_empty() as usize;
        }
        assert!(long > 1000, "only {long} entries of several words");
    }

    #[test]
    fn entity_type_names() {
        for k in EntityType::ALL {
            assert_eq!(EntityType::parse(k.as_str()), Some(k));
        }
        assert_eq!(EntityType::parse("PER"), Some(EntityType::Person));
        assert_eq!(EntityType::parse("organisation"), Some(EntityType::Org));
        assert_eq!(EntityType::parse("place"), Some(EntityType::Location));
        assert_eq!(EntityType::parse("nope"), None);
        assert_eq!(serde_json::to_string(&EntityType::Org).unwrap(), "\"org\"");
    }

    #[test]
    fn document_pass_links_surnames() {
        let t = Tagger::builtin();
        let body = "Sergei Chemezov met Ivan Petrov in Moscow on Tuesday. Chemezov said the talks went well. \
                    Analysts were sceptical about Mr. Chemezov's plan.";
        let headline = "Chemezov meets Petrov";
        let d = t.tag_document(headline, body);
        for m in &d.body {
            assert_eq!(&body[m.start..m.end], m.surface);
        }
        for m in &d.headline {
            assert_eq!(&headline[m.start..m.end], m.surface);
        }
        let chem: Vec<&Mention> = d
            .body
            .iter()
            .filter(|m| m.surface.contains("Chemezov"))
            .collect();
        assert_eq!(chem.len(), 3, "{:?}", d.body);
        for m in &chem {
            assert_eq!(m.kind, EntityType::Person, "{m:?}");
            assert_eq!(m.canonical, "Sergei Chemezov", "{m:?}");
            assert!(!m.surface.starts_with("Mr"), "{m:?}");
            assert!(!m.surface.ends_with("'s"), "{m:?}");
        }
        assert!(d
            .body
            .iter()
            .any(|m| m.surface == "Ivan Petrov" && m.kind == EntityType::Person));
        assert!(d
            .body
            .iter()
            .any(|m| m.surface == "Moscow" && m.kind == EntityType::Location));
    }

    #[test]
    fn possessives_titles_and_caps_headline() {
        let t = Tagger::builtin();
        let headline = "PRESIDENT CLINTON VISITS GERMANY";
        let body =
            "President Bill Clinton arrived in Berlin on Monday. Clinton's aides said the visit \
                    would focus on trade with Germany.";
        let d = t.tag_document(headline, body);
        let bill = d
            .body
            .iter()
            .find(|m| m.surface.contains("Bill"))
            .expect("Bill Clinton found");
        assert_eq!(bill.surface, "Bill Clinton");
        let c2 = d
            .body
            .iter()
            .find(|m| m.surface == "Clinton")
            .expect("second Clinton");
        assert_eq!(c2.canonical, "Bill Clinton");
        assert!(
            d.headline
                .iter()
                .any(|m| m.surface == "GERMANY" && m.kind == EntityType::Location),
            "{:?}",
            d.headline
        );
        // empty inputs are fine
        let e = t.tag_document("", "");
        assert!(e.headline.is_empty() && e.body.is_empty());
    }

    #[test]
    fn save_load_roundtrip() {
        let t = Tagger::builtin();
        let p = std::env::temp_dir().join(format!("ner_rt_{}.bin", std::process::id()));
        t.save(&p).unwrap();
        let t2 = Tagger::load(&p).unwrap();
        std::fs::remove_file(&p).ok();
        let body = "Shares of Microsoft Corp rose 3 percent in New York, said analyst John Smith.";
        assert_eq!(
            t.tag_document("", body).body,
            t2.tag_document("", body).body
        );
    }

    #[test]
    fn cached_word_scores_match_plain_scoring() {
        let mut plain = Tagger::from_bytes(BUILTIN_BYTES).unwrap();
        plain.bundled = false;
        let fast = Tagger::builtin();
        let sents: Vec<Vec<&str>> =
            vec![
            "ROTOR BEAT SPARTAK IN MOSCOW".split(' ').collect(),
            "MOSCOW 1996-08-22".split(' ').collect(),
            "Rotor Volgograd beat Spartak Moscow 2-1 , coach Vladimir Salkov said on Thursday ."
                .split(' ')
                .collect(),
            "Salkov 's side , backed by Lukoil Inc. , lead the table .".split(' ').collect(),
        ];
        for _ in 0..2 {
            assert_eq!(
                plain.tag_pretokenized(&sents),
                fast.tag_pretokenized(&sents)
            );
        }
        let body =
            "Shares of Microsoft Corp rose in New York. Mr. Gates said Microsoft would grow.";
        assert_eq!(
            plain.tag_document("MICROSOFT UP", body).body,
            fast.tag_document("MICROSOFT UP", body).body
        );
    }

    #[test]
    fn shipped_model_dev_f1() {
        let Some(dir) = corpora_dir() else {
            eprintln!("note: corpora not found, skipping the eng.testa evaluation");
            return;
        };
        let docs = conll::read_conll(&dir.join("conll2003/eng.testa")).unwrap();
        let rep = eval::evaluate(Tagger::builtin(), &docs);
        eprintln!("{}", rep.table());
        assert!(rep.overall.f1 > 91.0, "overall F1 {}", rep.overall.f1);
        assert!(rep.per.f1 > 94.3, "PER F1 {}", rep.per.f1);
        assert_eq!(rep.overall.support, 5942);
    }
}
