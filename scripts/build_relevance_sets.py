#!/usr/bin/env python3
"""Builds TREC-style relevance sets for `newsindex eval` from Reuters-21578.

Reads ../shared/corpora/reuters21578 (the SGML files and cat-descriptions_120396.txt) and
writes, into OUT (default target/relevance/):

* topics.queries / topics.qrels: the 40 most common topics of the ModApte test split, each
  queried by keywords written from its description (`Crude Oil (CRUDE)` -> `crude oil`);
  relevant = the ModApte test articles (TOPICS="YES" LEWISSPLIT="TEST") labelled with it.
* people.queries / people.qrels: every person label used in the collection, queried by name
  (`President Ronald Reagan (REAGAN)` -> `ronald reagan`, else the label with `-` as a
  space); relevant = every article labelled with the person.
* with --jsonl FILE, also the articles as JSON lines ({"id": "reuters-NEWID", ...}), for
  indexing where the SGML parser is not available.

Queries are `qid<TAB>query` lines; qrels are `qid 0 docid rel` lines where docid is the
article id newsindex gives a Reuters article (`reuters-<NEWID>`). Python 3.11 stdlib only.
The corpus text is never written except into --jsonl (keep that out of the repository).
"""

import argparse
import collections
import html
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "corpora", "reuters21578")

STOP = {"and", "of", "the", "or", "for", "a", "an", "in", "on", "to"}

# Topic codes whose description is only the code, or a code that reads badly as a query.
TOPIC_QUERY_OVERRIDES = {
    "veg-oil": "vegetable oil",
    "l-cattle": "live cattle",
    "f-cattle": "feeder cattle",
    "pet-chem": "petrochemicals",
    "iron-steel": "iron steel",
    "meal-feed": "meal feed",
    "dlr": "dollar",
    "money-fx": "money foreign exchange",
    "ship": "shipping",
    "bop": "balance of payments",
    "nat-gas": "natural gas",
    "money-supply": "money supply",
    "gnp": "gross national domestic product",
    "ipi": "industrial production index",
    "cpi": "consumer price index",
    "wpi": "wholesale price index",
    "jobs": "unemployment",
    "alum": "aluminium",
    "instal-debt": "instalment debt consumer credit",
}

REUTERS_RE = re.compile(r"<REUTERS([^>]*)>(.*?)</REUTERS>", re.S)
ATTR_RE = re.compile(r'(\w+)="([^"]*)"')
LIST_RE = {k: re.compile(rf"<{k}>(.*?)</{k}>", re.S) for k in ("TOPICS", "PEOPLE")}
D_RE = re.compile(r"<D>(.*?)</D>", re.S)
TAG_RE = {k: re.compile(rf"<{k}>(.*?)</{k}>", re.S) for k in ("TITLE", "BODY", "DATE")}
CTRL_ENT_RE = re.compile(r"&#(\d+);")


def clean(s):
    s = CTRL_ENT_RE.sub(lambda m: "" if int(m.group(1)) < 32 else m.group(0), s)
    s = html.unescape(s)
    return "".join(c for c in s if c in "\n\t" or ord(c) >= 32)


def read_articles(corpus):
    files = sorted(f for f in os.listdir(corpus) if f.endswith(".sgm"))
    for name in files:
        with open(os.path.join(corpus, name), "rb") as fh:
            raw = fh.read().decode("latin-1")
        for m in REUTERS_RE.finditer(raw):
            attrs = dict(ATTR_RE.findall(m.group(1)))
            inner = m.group(2)
            labels = {
                k.lower(): [d.strip() for d in D_RE.findall(r.group(1))]
                for k, rx in LIST_RE.items()
                for r in [rx.search(inner)]
                if r
            }
            yield attrs, inner, labels


def topic_descriptions(path):
    """code -> description, from lines like `Crude Oil (CRUDE)`."""
    out = {}
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            m = re.match(r"^\s*(.+?)\s*\(([A-Z][A-Z0-9-]*)\)\s*(@\*)?\s*$", line)
            if m:
                out.setdefault(m.group(2).lower(), m.group(1))
    return out


def keywords(desc):
    words = re.findall(r"[A-Za-z]+", desc)
    seen, out = set(), []
    for w in words:
        lw = w.lower()
        if lw in STOP or lw in seen:
            continue
        seen.add(lw)
        out.append(lw)
    return " ".join(out)


def person_names(path):
    """code -> `first last` from lines like `President Ronald Reagan  (REAGAN)`."""
    out = {}
    with open(path, encoding="latin-1") as fh:
        text = fh.read()
    section = text.split("People Codes", 1)[-1]
    for m in re.finditer(r"^\s*(.+?)\s+\(([A-Z][A-Z-]*)\)\s*$", section, re.M):
        desc, code = m.group(1), m.group(2).lower()
        desc = re.sub(r"\([^)]*\)", " ", desc)  # "Robert (Bob) Hawke"
        words = desc.split()
        last = code.split("-")[-1]
        idx = [i for i, w in enumerate(words) if w.lower().strip(".,") == last]
        if "-" in code:
            continue  # multi-word labels (`james-baker`) already read as a name
        if idx and idx[-1] > 0 and words[idx[-1] - 1][:1].isupper():
            i = idx[-1]
            out[code] = f"{words[i - 1]} {words[i]}".lower().strip(".,")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default="target/relevance")
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--topics", type=int, default=40, help="number of topics (most common)")
    ap.add_argument("--jsonl", help="also write the articles as JSON lines to this file")
    args = ap.parse_args()

    desc_path = os.path.join(args.corpus, "cat-descriptions_120396.txt")
    descs = topic_descriptions(desc_path)
    names = person_names(desc_path)

    test_topic = collections.defaultdict(list)
    person_docs = collections.defaultdict(list)
    jsonl = open(args.jsonl, "w", encoding="utf-8") if args.jsonl else None
    n = 0
    for attrs, inner, labels in read_articles(args.corpus):
        n += 1
        docid = f"reuters-{attrs['NEWID']}"
        if attrs.get("TOPICS") == "YES" and attrs.get("LEWISSPLIT") == "TEST":
            for t in labels.get("topics", []):
                test_topic[t].append(docid)
        for p in labels.get("people", []):
            person_docs[p].append(docid)
        if jsonl:
            get = lambda k: (lambda r: clean(r.group(1)) if r else "")(TAG_RE[k].search(inner))
            body = get("BODY")
            if not body and not get("TITLE"):
                body = clean(re.sub(r"<[^>]+>", " ", inner.split("<TEXT", 1)[-1]))
            body = re.sub(r"\n {3,}", "\n\n", body).strip()
            rec = {"id": docid, "headline": get("TITLE").strip(), "body": body}
            jsonl.write(json.dumps(rec) + "\n")
    if jsonl:
        jsonl.close()

    os.makedirs(args.out, exist_ok=True)
    topics = sorted(test_topic, key=lambda t: (-len(test_topic[t]), t))[: args.topics]
    with open(os.path.join(args.out, "topics.queries"), "w") as q, open(
        os.path.join(args.out, "topics.qrels"), "w"
    ) as r:
        for t in topics:
            query = TOPIC_QUERY_OVERRIDES.get(t) or keywords(descs.get(t, t.replace("-", " ")))
            q.write(f"topic-{t}\t{query}\n")
            for d in sorted(set(test_topic[t])):
                r.write(f"topic-{t} 0 {d} 1\n")
    with open(os.path.join(args.out, "people.queries"), "w") as q, open(
        os.path.join(args.out, "people.qrels"), "w"
    ) as r:
        for p in sorted(person_docs):
            query = names.get(p) or p.replace("-", " ")
            q.write(f"person-{p}\t{query}\n")
            for d in sorted(set(person_docs[p])):
                r.write(f"person-{p} 0 {d} 1\n")
    print(
        f"{n} articles; {len(topics)} topic queries, {len(person_docs)} people queries -> {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
