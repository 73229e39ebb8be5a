//! The Reuters wire sign-off ("... said. Reuter", "REUTER") is not a person. The SGML parser
//! drops it, but Reuters text reaches us in other shapes too (plain text, JSON exports) with
//! the sign-off still at the end: here real Reuters-21578 bodies are written as plain text
//! files, sign-off kept (on its own line, or glued to the last sentence as in the scale
//! corpora, at the end of the article or of a paragraph), and no sign-off may be tagged.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn the_reuter_signoff_is_not_a_person() {
    let sgm = std::fs::read(corpora().join("reuters21578/reut2-000.sgm")).unwrap();
    let sgm = String::from_utf8_lossy(&sgm);
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("reuters-text");
    std::fs::create_dir_all(&dir).unwrap();
    let mut signed = 0;
    for (i, el) in sgm.split("<REUTERS").skip(1).take(400).enumerate() {
        let (Some(b), Some(e)) = (el.find("<BODY>"), el.find("</BODY>")) else {
            continue;
        };
        let title = el
            .find("<TITLE>")
            .and_then(|t| Some(&el[t + 7..t + el[t..].find("</TITLE>")?]))
            .unwrap_or("Untitled");
        let mut body = el[b + 6..e]
            .replace("&#3;", "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
            .trim_end()
            .to_string();
        if !body.to_lowercase().ends_with("reuter") {
            continue;
        }
        signed += 1;
        if i % 2 == 1 {
            // "... last sentence. REUTER", as the scale corpora have it.
            let cut = body.len() - "reuter".len();
            body = format!("{} REUTER", body[..cut].trim_end());
        }
        if i % 3 == 2 {
            // A paragraph after the signed one, as in corpora built from shuffled paragraphs.
            body.push_str("\n\nThe company gave no further details.");
        }
        std::fs::write(
            dir.join(format!("{i:04}.txt")),
            format!("{title}\n\n{body}\n"),
        )
        .unwrap();
    }
    assert!(
        signed >= 300,
        "only {signed} signed bodies in reut2-000.sgm"
    );

    let idx = tmp.path().join("idx");
    let (summary, code) = ingest(&[&dir], &idx, &[]);
    assert_eq!(code, 0, "{summary}");
    let people = json_lines(
        &["entities", "--type", "person", "-n", "100000", "--json"],
        &idx,
    );
    assert!(people.len() > 20, "{people:?}");
    // The most mentioned "person" of Reuters text used to be the sign-off.
    assert_ne!(people[0]["name"], "reuter", "{:?}", &people[..5]);
    // "Reuter" may still be (mis)tagged inside a sentence ("through the Reuter Monitor"), but
    // never as the last word of an article.
    let (hits, _) = mentions(&idx, "Reuter", &["--type", "person"]);
    assert!(
        hits.len() < signed / 20,
        "{} mentions: {hits:?}",
        hits.len()
    );
    for h in &hits {
        let out = newsindex()
            .args([
                "show",
                "--json",
                h["article_id"].as_str().unwrap(),
                "--index",
            ])
            .arg(&idx)
            .output()
            .unwrap();
        let a: Value = serde_json::from_slice(&out.stdout).unwrap();
        let body: Vec<char> = a["body"].as_str().unwrap().chars().collect();
        let after: String = body[h["end"].as_u64().unwrap() as usize..].iter().collect();
        let rest = after.trim_start_matches(['.', ' ', '\t', '\r']);
        let paragraph_end = rest.is_empty()
            || rest
                .strip_prefix('\n')
                .is_some_and(|r| r.trim_start_matches([' ', '\t', '\r']).starts_with('\n'));
        assert!(
            !paragraph_end,
            "the sign-off of {} is tagged: {h}",
            h["article_id"]
        );
    }
}
