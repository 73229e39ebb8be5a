//! Re-ingesting is incremental and idempotent: unchanged files are skipped, a changed file's
//! articles are replaced, `--prune` removes the articles of deleted files.

mod common;

use std::fs;

use common::*;
use tempfile::TempDir;

#[test]
fn edit_replace_and_prune_on_real_articles() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("business");
    copy_tree(&corpora().join("bbc/business"), &docs);
    let index = tmp.path().join("idx");

    let (first, code) = ingest(&[&docs], &index, &[]);
    assert_eq!(code, 0);
    let files = first["files"].as_u64().unwrap();
    let articles = first["articles"].as_u64().unwrap();
    assert_eq!(files, 510);
    assert!(articles > 490 && articles <= 510, "{first}");
    let passages = stats(&index)["passages"].as_u64().unwrap();

    // Same input again: nothing read, nothing added.
    let (again, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(again["files_unchanged"].as_u64().unwrap(), files);
    assert_eq!(again["articles"], 0);
    assert_eq!(stats(&index)["articles"].as_u64().unwrap(), articles);
    assert_eq!(stats(&index)["passages"].as_u64().unwrap(), passages);

    // Edit one file: only its article is replaced.
    let edited = docs.join("001.txt");
    let mut text = fs::read_to_string(&edited).unwrap();
    text.push_str("\n\nZebrafinch quarterly outlook was revised by the board.\n");
    fs::write(&edited, text).unwrap();
    let (after_edit, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(after_edit["files_indexed"], 1);
    assert_eq!(after_edit["articles"], 1);
    assert_eq!(after_edit["articles_removed"], 1);
    assert_eq!(stats(&index)["articles"].as_u64().unwrap(), articles);
    let hits = search(&index, "zebrafinch", &[]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["article_id"], "business/001.txt");

    // Touch without change: read again, found identical, nothing replaced.
    let bytes = fs::read(docs.join("002.txt")).unwrap();
    fs::write(docs.join("002.txt"), &bytes).unwrap();
    let (touched, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(touched["articles"], 0);
    assert_eq!(touched["articles_removed"], 0);

    // Delete a file: kept without --prune, removed with it.
    let gone_headline = fs::read_to_string(docs.join("003.txt"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    fs::remove_file(docs.join("003.txt")).unwrap();
    let (no_prune, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(no_prune["files_removed"], 0);
    assert_eq!(stats(&index)["articles"].as_u64().unwrap(), articles);
    let (pruned, _) = ingest(&[&docs], &index, &["--prune"]);
    assert_eq!(pruned["files_removed"], 1);
    assert_eq!(pruned["articles_removed"], 1);
    assert_eq!(stats(&index)["articles"].as_u64().unwrap(), articles - 1);
    let hits = search(
        &index,
        &format!("headline:\"{gone_headline}\""),
        &["-n", "50"],
    );
    assert!(hits.iter().all(|h| h["article_id"] != "business/003.txt"));
}

#[test]
fn a_duplicate_takes_the_place_of_its_pruned_original() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("news");
    fs::create_dir_all(&docs).unwrap();
    let story = "Harbour cranes idle\n\nDockworkers in Port Halvard stopped the cranes at dawn.\n";
    fs::write(docs.join("a.txt"), story).unwrap();
    fs::write(docs.join("b.txt"), story).unwrap();
    let index = tmp.path().join("idx");
    let (s, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(s["articles"], 1);
    assert_eq!(s["duplicates"], 1);

    fs::remove_file(docs.join("a.txt")).unwrap();
    let (s, _) = ingest(&[&docs], &index, &["--prune"]);
    assert_eq!(s["articles_removed"], 1);
    assert_eq!(s["articles"], 1, "{s}");
    let hits = search(&index, "cranes", &[]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["article_id"], "news/b.txt");
}

/// An article moved from one file into another that is read earlier in the same run: when
/// the second file is read, the article is still indexed from the first, so the moved copy is
/// a duplicate; when the first is then read without it, the copy must take its place.
#[test]
fn an_article_moved_between_files_in_one_run_is_kept() {
    let tmp = TempDir::new().unwrap();
    let docs = tmp.path().join("news");
    fs::create_dir_all(&docs).unwrap();
    let xylophone = "{\"headline\":\"Xylophone makers merge\",\"body\":\"The two largest xylophone makers agreed to merge on Tuesday.\"}\n";
    let aardvark = "{\"headline\":\"Aardvark census finds growth\",\"body\":\"A census of aardvarks found the population grew sharply.\"}\n";
    let bison = "{\"headline\":\"Bison return to plains\",\"body\":\"Herds of bison returned to the northern plains.\"}\n";
    fs::write(docs.join("a.jsonl"), xylophone).unwrap();
    fs::write(docs.join("b.jsonl"), aardvark).unwrap();
    let index = tmp.path().join("idx");
    let (s, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(s["articles"], 2);

    // a.jsonl (read first) gains the aardvark story, b.jsonl loses it.
    fs::write(docs.join("a.jsonl"), format!("{xylophone}{aardvark}")).unwrap();
    fs::write(docs.join("b.jsonl"), bison).unwrap();
    let (s, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(s["errors"].as_array().map_or(0, |e| e.len()), 0, "{s}");
    assert_eq!(s["files_indexed"], 2, "{s}");
    assert_eq!(s["files_reread"], 1, "a.jsonl, for its duplicate: {s}");
    assert_eq!(s["index_articles"], 3, "{s}");
    assert_eq!(stats(&index)["articles"], 3, "{s}");
    let hits = search(&index, "aardvark", &[]);
    assert_eq!(hits.len(), 1, "{s}");
    assert!(hits[0]["article_id"]
        .as_str()
        .unwrap()
        .starts_with("news/a.jsonl"));

    // And the next run finds everything unchanged and keeps it.
    let (s, _) = ingest(&[&docs], &index, &[]);
    assert_eq!(s["articles"], 0, "{s}");
    assert_eq!(stats(&index)["articles"], 3);
    assert_eq!(search(&index, "aardvark", &[]).len(), 1);
}
