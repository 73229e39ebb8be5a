//! Document-level pass: title/possessive stripping, one type per name string (majority vote),
//! person-name linking (a lone surname/first name after a full name is that person).

use super::EntityType;
use std::collections::HashMap;

/// A span over global token indices `[start, end)`; `canon` is the token range of its canonical form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DSpan {
    pub sent: usize,
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
    pub canon: (usize, usize),
}

/// What the pass needs to know about tokens.
pub trait TokInfo {
    /// Lowercase hash of token `i`.
    fn lw(&self, i: usize) -> u64;
    fn is_title(&self, i: usize) -> bool;
    fn is_possessive(&self, i: usize) -> bool;
    /// Capitalised and usable as a name (not in an all-caps line, not a sentence-initial common word).
    fn name_like(&self, i: usize) -> bool;
    fn in_headline(&self, i: usize) -> bool;
    /// Token `i` starts with a lowercase letter.
    fn is_lower(&self, i: usize) -> bool;
    /// Token `i` is a role noun that introduces a person ("leader", "minister", "chief").
    fn is_role(&self, i: usize) -> bool;
    /// Gender told by token `i`: a title (Mr / Ms, Mrs, Miss) or a first name on the census
    /// lists. Unknown for everything else.
    fn gender(&self, i: usize) -> Gender;
    /// Token `i` is the last of a paragraph of the body: only a blank line or the end of the
    /// text follows it.
    fn ends_paragraph(&self, _i: usize) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Unknown,
    Male,
    Female,
}

/// Options of the pass.
#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// One type per name string in the article (majority vote, headline mentions count half).
    /// Costs about 0.2 dev F1 (the history features already make types consistent) but keeps
    /// the types of one name consistent for search.
    pub vote: bool,
    /// Lone first names / surnames of a full person name become that person.
    pub link_persons: bool,
    /// Also turn untagged capitalised tokens equal to a known surname into person mentions.
    pub link_untagged: bool,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            vote: true,
            link_persons: true,
            link_untagged: true,
        }
    }
}

/// The person a lone surname at token `at` refers to, when several full names in the article
/// share it ("Sergei Chemezov" and "Nadia Chemezov"): among the full names with that surname,
/// drop those whose first name's gender contradicts a title just before the surname
/// ("Ms. Chemezov"), then take the nearest one mentioned before it (else the first after).
/// `default` is the longest full name, used when only one person has the surname.
fn resolve_surname<T: TokInfo>(t: &T, spans: &[DSpan], default: usize, at: usize) -> usize {
    let surname = t.lw(at);
    let candidates: Vec<usize> = spans
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.kind == EntityType::Person && f.end - f.start >= 2 && t.lw(f.end - 1) == surname
        })
        .map(|(k, _)| k)
        .collect();
    let first_names: std::collections::HashSet<u64> =
        candidates.iter().map(|&k| t.lw(spans[k].start)).collect();
    if first_names.len() < 2 {
        return default;
    }
    let title = if at > 0 {
        t.gender(at - 1)
    } else {
        Gender::Unknown
    };
    let fits = |k: &usize| {
        title == Gender::Unknown || {
            let g = t.gender(spans[*k].start);
            g == Gender::Unknown || g == title
        }
    };
    let fitting: Vec<usize> = candidates.iter().copied().filter(fits).collect();
    let pool = if fitting.is_empty() {
        &candidates
    } else {
        &fitting
    };
    pool.iter()
        .copied()
        .filter(|&k| spans[k].end <= at)
        .max_by_key(|&k| spans[k].end)
        .or_else(|| pool.first().copied())
        .unwrap_or(default)
}

fn key_of<T: TokInfo>(t: &T, s: usize, e: usize) -> u64 {
    let mut h = 0x1234_5678u64;
    for i in s..e {
        h = super::hash::mix(h, t.lw(i));
    }
    h
}

/// Whether token `i` is a Reuters wire sign-off ("... said. Reuter", "REUTER"): "Reuter" in any
/// case, with only full stops after it before the end of the article or of a paragraph (texts
/// built from Reuters paragraphs carry it there). It is a newswire artefact, not a person, and
/// is never tagged.
fn is_signoff<T: TokInfo>(t: &T, n: usize, i: usize) -> bool {
    if t.lw(i) != super::hash::lower_hash(b"reuter") {
        return false;
    }
    let dots = [&b"."[..], b"..", b"...", "…".as_bytes()].map(super::hash::lower_hash);
    let mut j = i;
    while j + 1 < n && dots.contains(&t.lw(j + 1)) && !t.ends_paragraph(j) {
        j += 1;
    }
    j + 1 == n || t.ends_paragraph(j)
}

/// Runs the pass over `spans` (sorted by start). `n` is the number of tokens.
pub fn run<T: TokInfo>(spans: &mut Vec<DSpan>, n: usize, t: &T, opt: PassOptions) {
    // 0. the wire sign-off is no name
    let signoffs: Vec<usize> = spans
        .iter()
        .map(|s| s.end - 1)
        .filter(|&i| is_signoff(t, n, i))
        .collect();
    if !signoffs.is_empty() {
        for s in spans.iter_mut() {
            if signoffs.contains(&(s.end - 1)) {
                s.end -= 1; // "... 733 REUTER" tagged as one name keeps "733"
            }
        }
        spans.retain(|s| s.start < s.end);
    }
    // 1. strip titles and possessives
    for s in spans.iter_mut() {
        while s.kind == EntityType::Person && s.end - s.start > 1 && t.is_title(s.start) {
            s.start += 1;
        }
        while s.end - s.start > 1 && t.is_possessive(s.end - 1) {
            s.end -= 1;
        }
        s.canon = (s.start, s.end);
    }
    // A name glued to the role before it ("Union leader José Ramírez" tagged as one ORG):
    // the capitalised words after the role word are the person.
    for s in spans.iter_mut() {
        if s.kind == EntityType::Person || s.end - s.start < 3 {
            continue;
        }
        if let Some(r) = (s.start + 1..s.end - 2).rev().find(|&i| t.is_lower(i)) {
            let tail_capitalised = (r + 1..s.end).all(|i| !t.is_lower(i));
            if t.is_role(r) && tail_capitalised {
                s.start = r + 1;
                s.kind = EntityType::Person;
                s.canon = (s.start, s.end);
            }
        }
    }
    spans.retain(|s| {
        !(s.end - s.start == 1
            && (t.is_title(s.start) && s.kind == EntityType::Person || t.is_possessive(s.start)))
    });
    // 2. majority vote per name string
    if opt.vote {
        let mut votes: HashMap<u64, [f32; 4]> = HashMap::new();
        for s in spans.iter() {
            let w = if t.in_headline(s.start) { 0.5 } else { 1.0 };
            votes.entry(key_of(t, s.start, s.end)).or_default()[s.kind as usize] += w;
        }
        for s in spans.iter_mut() {
            let v = votes[&key_of(t, s.start, s.end)];
            let mut best = s.kind as usize;
            for k in 0..4 {
                if v[k] > v[best] {
                    best = k;
                }
            }
            s.kind = [
                EntityType::Person,
                EntityType::Org,
                EntityType::Location,
                EntityType::Misc,
            ][best];
        }
    }
    if !opt.link_persons {
        return;
    }
    // 3. full person names
    let mut by_last: HashMap<u64, usize> = HashMap::new();
    let mut by_first: HashMap<u64, usize> = HashMap::new();
    for (k, s) in spans.iter().enumerate() {
        if s.kind != EntityType::Person || s.end - s.start < 2 {
            continue;
        }
        let len = s.end - s.start;
        for (key, map) in [
            (t.lw(s.end - 1), &mut by_last),
            (t.lw(s.start), &mut by_first),
        ] {
            let e = map.entry(key).or_insert(k);
            let cur = &spans[*e];
            if len > cur.end - cur.start {
                *e = k;
            }
        }
    }
    if by_last.is_empty() {
        return;
    }
    let full: Vec<DSpan> = spans.clone();
    for s in spans.iter_mut() {
        let len = s.end - s.start;
        if len == 1 {
            let key = t.lw(s.start);
            let chosen = by_last
                .get(&key)
                .map(|&k| resolve_surname(t, &full, k, s.start))
                .or_else(|| by_first.get(&key).copied());
            if let Some(k) = chosen {
                if s.kind == EntityType::Person
                    || s.kind == EntityType::Misc
                    || !t.in_headline(s.start)
                {
                    s.kind = EntityType::Person;
                    s.canon = (full[k].start, full[k].end);
                }
            }
        } else if s.kind == EntityType::Person {
            if let Some(&k) = by_last.get(&t.lw(s.end - 1)) {
                let f = &full[k];
                if t.lw(f.start) == t.lw(s.start) && f.end - f.start > len {
                    s.canon = (f.start, f.end);
                }
            }
        }
    }
    // 4. untagged surnames of known persons
    if opt.link_untagged {
        let mut covered = vec![false; n];
        for s in spans.iter() {
            covered[s.start..s.end].iter_mut().for_each(|c| *c = true);
        }

        let mut extra = Vec::new();
        for i in 0..n {
            if covered[i] || !t.name_like(i) {
                continue;
            }
            if let Some(k) = by_last
                .get(&t.lw(i))
                .map(|&k| resolve_surname(t, &full, k, i))
            {
                // not glued to another capitalised untagged word
                let glued = (i > 0 && !covered[i - 1] && t.name_like(i - 1))
                    || (i + 1 < n && !covered[i + 1] && t.name_like(i + 1));
                if !glued && !is_signoff(t, n, i) {
                    extra.push(DSpan {
                        sent: usize::MAX,
                        start: i,
                        end: i + 1,
                        kind: EntityType::Person,
                        canon: (full[k].start, full[k].end),
                    });
                }
            }
        }
        if !extra.is_empty() {
            spans.extend(extra);
            spans.sort_by_key(|s| s.start);
        }
    }
}
