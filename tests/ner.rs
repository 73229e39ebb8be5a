//! The shipped entity tagger on CoNLL-2003 dev (eng.testa), through `newsindex ner-eval`.
//! Floors sit a little under what the model reaches (README: overall 91.5, PER 94.7).

mod common;

use common::*;

#[test]
fn ner_eval_on_conll_dev_stays_above_the_floor() {
    let dev = corpora().join("conll2003/eng.testa");
    let out = run(&["ner-eval", dev.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f1 = |k: &str| r[k]["f1"].as_f64().unwrap();
    assert!(f1("overall") > 91.0, "{r}");
    assert!(f1("PER") > 94.3, "{r}");
    assert!(f1("LOC") > 94.0, "{r}");
    for k in ["overall", "PER", "ORG", "LOC", "MISC"] {
        for m in ["precision", "recall", "f1"] {
            assert!(r[k][m].is_number(), "{k}.{m} missing in {r}");
        }
    }
}
