//! conlleval-style exact-span evaluation.

use super::conll::{tags_to_spans, ConllDoc, TokSpan};
use super::{EntityType, Tagger};
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold spans.
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
}

impl Prf {
    fn finish(&mut self) {
        self.precision = 100.0 * self.correct as f64 / self.predicted.max(1) as f64;
        self.recall = 100.0 * self.correct as f64 / self.support.max(1) as f64;
        self.f1 = if self.precision + self.recall > 0.0 {
            2.0 * self.precision * self.recall / (self.precision + self.recall)
        } else {
            0.0
        };
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub overall: Prf,
    #[serde(rename = "PER")]
    pub per: Prf,
    #[serde(rename = "ORG")]
    pub org: Prf,
    #[serde(rename = "LOC")]
    pub loc: Prf,
    #[serde(rename = "MISC")]
    pub misc: Prf,
    pub tokens: usize,
    pub seconds: f64,
    pub tokens_per_sec: f64,
}

impl EvalReport {
    pub fn by_type(&mut self, k: EntityType) -> &mut Prf {
        match k {
            EntityType::Person => &mut self.per,
            EntityType::Org => &mut self.org,
            EntityType::Location => &mut self.loc,
            EntityType::Misc => &mut self.misc,
        }
    }

    /// Readable table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<8} {:>9} {:>9} {:>9} {:>8}\n",
            "type", "precision", "recall", "F1", "support"
        );
        for (name, p) in [
            ("PER", &self.per),
            ("ORG", &self.org),
            ("LOC", &self.loc),
            ("MISC", &self.misc),
            ("overall", &self.overall),
        ] {
            s += &format!(
                "{:<8} {:>9.2} {:>9.2} {:>9.2} {:>8}\n",
                name, p.precision, p.recall, p.f1, p.support
            );
        }
        s += &format!(
            "{} tokens in {:.3} s ({:.0} tokens/s)\n",
            self.tokens, self.seconds, self.tokens_per_sec
        );
        s
    }
}

/// Accumulates gold vs predicted spans of one sentence.
pub fn score_sentence(rep: &mut EvalReport, gold: &[TokSpan], pred: &[TokSpan]) {
    let g: HashSet<&TokSpan> = gold.iter().collect();
    for p in pred {
        rep.by_type(p.kind).predicted += 1;
        rep.overall.predicted += 1;
        if g.contains(p) {
            rep.by_type(p.kind).correct += 1;
            rep.overall.correct += 1;
        }
    }
    for s in gold {
        rep.by_type(s.kind).support += 1;
        rep.overall.support += 1;
    }
}

/// Tags every article (document pass included) and scores exact spans.
pub fn evaluate(tagger: &Tagger, docs: &[ConllDoc]) -> EvalReport {
    let mut rep = EvalReport::default();
    let t0 = std::time::Instant::now();
    let mut preds = Vec::with_capacity(docs.len());
    for d in docs {
        let sents: Vec<Vec<&str>> = d
            .sentences
            .iter()
            .map(|s| s.iter().map(|(w, _)| w.as_str()).collect())
            .collect();
        preds.push(tagger.tag_pretokenized(&sents));
        rep.tokens += sents.iter().map(|s| s.len()).sum::<usize>();
    }
    rep.seconds = t0.elapsed().as_secs_f64();
    rep.tokens_per_sec = rep.tokens as f64 / rep.seconds.max(1e-9);
    for (d, p) in docs.iter().zip(&preds) {
        for (s, ps) in d.sentences.iter().zip(p) {
            let tags: Vec<&str> = s.iter().map(|(_, t)| t.as_str()).collect();
            score_sentence(&mut rep, &tags_to_spans(&tags), ps);
        }
    }
    for k in EntityType::ALL {
        rep.by_type(k).finish();
    }
    rep.overall.finish();
    rep
}
