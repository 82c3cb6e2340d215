"""Build config/technical/words.txt: names of software, the technical words masked by mistake.

A model trained on prose takes ``PgBouncer``, ``Uvicorn`` or ``eslint`` for a person and
``Kafka`` for a place. The most used packages of PyPI (the 15,000 most downloaded) and of npm
(at least ``--npm-min`` downloads a month), with Debian's package names, name the tools,
libraries and protocols that agents' texts mention; plus the IANA HTTP authentication
schemes and the Kubernetes Secret types
(``STANDARD_WORDS``). Taken from registries, never from a labelled set. Left out: names
that are given names or surnames in any Faker locale (``jenkins``, ``grace``), so a person's
name is never allowed because a package shares it, the shipped place lists' names
(``boston``), and names shorter than 3 letters.

The list is shipped in the repository; rebuilding needs the registry name lists (one package a
line, tab-separated: PyPI ``name version month rank summary``, npm ``name version downloads
summary``) and Faker (build time only):

    apt-cache pkgnames > debian.txt
    python tools/build_technical_words.py --pypi pypi.tsv --npm npm.tsv --debian debian.txt
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from build_common_words import names_of_people_and_places  # noqa: E402

DEFAULT_OUT = ROOT / "config" / "technical" / "words.txt"
# Protocol words no package registry lists: the IANA HTTP Authentication Scheme registry and
# the Secret types of the Kubernetes API ("Authorization: Bearer", "type: Opaque").
STANDARD_WORDS = ("basic", "bearer", "digest", "dpop", "hoba", "mutual", "negotiate", "oauth",
                  "privatetoken", "vapid", "opaque")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")


def registry_names(pypi: Path, npm: Path, npm_min: int) -> set[str]:
    """Single-word package names: PyPI's most downloaded, npm's above ``npm_min`` a month."""
    names: set[str] = set()
    csv.field_size_limit(1 << 24)
    with pypi.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if (row.get("rank_among_15000_most_downloaded") or "").strip():
                names.add(row["name"])
    with npm.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            downloads = (row.get("downloads_a_month") or "").strip()
            if downloads.isdigit() and int(downloads) >= npm_min:
                names.add(row["name"].rsplit("/", 1)[-1])
    return {n.lower() for n in names if _WORD.fullmatch(n)}


def debian_names(path: Path | None) -> set[str]:
    """Debian's package names (``apt-cache pkgnames > debian.txt``): servers and tools such as
    ``pgbouncer`` and ``nginx`` that no language registry lists."""
    if path is None:
        return set()
    lines = path.read_text(encoding="utf-8").split()
    return {n.lower() for n in lines if _WORD.fullmatch(n) and not n.startswith("lib")}


def build(pypi: Path, npm: Path, npm_min: int, debian: Path | None = None) -> list[str]:
    names = registry_names(pypi, npm, npm_min) | debian_names(debian) | set(STANDARD_WORDS)
    return sorted(names - names_of_people_and_places())  # a person or a place is never one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pypi", type=Path, required=True)
    parser.add_argument("--npm", type=Path, required=True)
    parser.add_argument("--npm-min", type=int, default=1_000_000)
    parser.add_argument("--debian", type=Path, default=None,
                        help="Debian package names, one a line (apt-cache pkgnames)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    words = build(args.pypi, args.npm, args.npm_min, args.debian)
    header = ("# Names of the most used PyPI and npm packages and of Debian packages\n"
              "# (tools/build_technical_words.py), minus Faker's given names and surnames and\n"
              "# the place lists: never masked.\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {args.out}")


if __name__ == "__main__":
    main()
