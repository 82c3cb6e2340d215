"""Build config/gazetteer/person_names.txt: given names and surnames from Faker's locales.

The model finds common English names well and misses rarer ones (``Antti Poutiainen``,
``Csenger Gábor``, ``Impi Nummelin``). This list adds the first names and surnames of every
Faker locale written in Latin script (and the romanized names of the others), with and
without accents. It keeps only names that are rare as English words: a name whose lower-case
form is a common English word by ``wordfreq`` (``Park``, ``Will``, ``May``, ``Young``,
``Hope``; Zipf frequency at or above ``--max-zipf``) is left out, so a capitalized word at the
start of a sentence is not masked. Those common names are the ones the model knows anyway.

The list is shipped in the repository; rebuilding needs ``pip install faker wordfreq``
(build time only):

    python tools/build_names.py [--max-zipf 3.0] [--pair-max-zipf 4.5]

It also writes ``config/patterns/person_names.txt``: two regexes for full names, each a trie of
the listed names (see ``pair_patterns``), and ``config/patterns/titled_names.txt``: the name
after a title (see ``titled_pattern``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "config" / "gazetteer" / "person_names.txt"
DEFAULT_PATTERNS_OUT = ROOT / "config" / "patterns" / "person_names.txt"
DEFAULT_TITLED_OUT = ROOT / "config" / "patterns" / "titled_names.txt"

# Faker provider attributes that hold names (tuples, lists or weighted dicts of names).
NAME_ATTRIBUTES = (
    "first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
    "last_names", "last_names_male", "last_names_female", "last_names_nonbinary",
    "first_romanized_names", "last_romanized_names",
    "first_romanized_names_male", "first_romanized_names_female",
)


def is_latin_name(name: str) -> bool:
    """A single capitalized word of Latin letters (a hyphen or apostrophe inside allowed)."""
    if len(name) < 3 or not name[0].isupper() or name.isupper():
        return False
    if name[-1] in "-'" or "--" in name:
        return False
    for char in name:
        if char in "-'":
            continue
        if not char.isalpha() or "LATIN" not in unicodedata.name(char, ""):
            return False
    return True


def ascii_fold(name: str) -> str:
    """``Gábor`` -> ``Gabor``: texts often drop the accents."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def faker_names(kind: str = "") -> set[str]:
    """Every name of every Faker person provider; ``kind`` ``first`` or ``last`` narrows it."""
    import faker.providers.person as person  # build-time only

    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute in NAME_ATTRIBUTES:
            if not attribute.startswith(kind):
                continue
            values = getattr(provider, attribute, ())
            if not isinstance(values, Iterable) or isinstance(values, str):
                continue  # a computed property in some locales, not a list
            for value in values:
                # A few locales list double names ("Anna Maria"): keep each word.
                names.update(part.strip() for part in str(value).split())
    return names


def build(max_zipf: float, kind: str = "") -> list[str]:
    from wordfreq import zipf_frequency  # build-time only

    candidates = {n for n in faker_names(kind) if is_latin_name(n)}
    candidates |= {f for f in map(ascii_fold, candidates) if is_latin_name(f)}
    return sorted(n for n in candidates if zipf_frequency(n.lower(), "en") < max_zipf)


def trie_regex(words: Iterable[str]) -> str:
    """One alternation of ``words`` shaped as a trie (``An(?:na|tti)``): Python's ``re`` then
    tries each letter once instead of every word at every position."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + render(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return ("(?:" + body + ")?") if len(branches) == 1 and len(body) > 1 else body + "?"
        return body

    return render(trie)


UPPER = "[A-ZÀ-ÖØ-Þ]"  # a capital letter, accented ones included
LETTERS = r"[^\W\d_]+"
WORD = rf"{UPPER}{LETTERS}(?:-{UPPER}{LETTERS})?"  # Capitalized, or Double-Barrelled
GAP = rf"(?:[ \t]+{UPPER}\.?)?[ \t]+"  # spaces, with a middle initial ("Abby M. Laidlaw")


# Titles and honorifics before a name ("Dr. Wells", "Director Avery Bullock"). The short ones
# are also written with a full stop.
TITLES = (
    "Mr", "Mrs", "Ms", "Mx", "Miss", "Dr", "Prof", "Professor", "Sir", "Dame", "Lord", "Lady",
    "Rev", "Reverend", "Fr", "Capt", "Captain", "Sgt", "Sergeant", "Lt", "Lieutenant", "Col",
    "Colonel", "Senator", "Sen", "Rep", "Governor", "Gov", "Judge", "Detective", "Det",
    "Officer", "Director", "Coach", "President", "Chancellor", "Mayor", "Nurse", "Agent",
)
NOT_ABBREVIATED = ("Miss", "Sir", "Dame", "Lord", "Lady")
ABBREVIATED = tuple(t for t in TITLES if len(t) <= 4 and t not in NOT_ABBREVIATED)


def titled_pattern() -> str:
    """The one or two capitalized words after a title, without the title ("Dr. Wells" ->
    ``Wells``), so the prompt still reads "Dr. PERSON0". Python's ``re`` needs a fixed-width
    lookbehind, hence one per title length; the leading capital-letter test makes the other
    positions of a text fail fast."""
    written = [f"{t}. " for t in ABBREVIATED] + [f"{t} " for t in TITLES]
    by_width: dict[int, list[str]] = {}
    for title in written:
        by_width.setdefault(len(title), []).append(re.escape(title))
    behind = [rf"(?<=\b(?:{'|'.join(titles)}))" for _, titles in sorted(by_width.items())]
    name = rf"{UPPER}[\w'’-]*\w"
    initial = rf"(?:{UPPER}\.[ ]?)?"
    return rf"(?={UPPER})(?:{'|'.join(behind)}){initial}{name}(?:[ ]{initial}{name})?"


def pair_patterns(max_zipf: float) -> list[str]:
    """Two regexes: a known given name followed by a capitalized word, and a capitalized word
    followed by a known surname. The second word need not be known, so ``Antti Poutiainen``
    is masked whole even though only ``Antti`` is listed. Names here may be commoner words
    (Zipf < ``max_zipf``) than in the one-word list, since a second name must follow."""
    first = trie_regex(build(max_zipf, "first"))
    last = trie_regex(build(max_zipf, "last"))
    not_title = rf"(?!(?:{'|'.join(TITLES)})\b)"  # "Director Avery" is no full name
    return [rf"(?<![\w@#])(?:{first}){GAP}{WORD}(?!\w)",
            rf"(?<![\w@#]){not_title}{WORD}{GAP}(?:{last})(?!\w)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-zipf", type=float, default=3.0,
                        help="one-word list: leave out names at least this frequent as words")
    parser.add_argument("--pair-max-zipf", type=float, default=4.5,
                        help="name pairs: the same, for the listed name of the pair")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--patterns-out", type=Path, default=DEFAULT_PATTERNS_OUT)
    args = parser.parse_args()
    names = build(args.max_zipf)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Given names and surnames of Faker's locales (MIT), Latin script, rare as English "
              f"words (wordfreq Zipf < {args.max_zipf}).\n"
              "# Built by tools/build_names.py; do not edit by hand.\n")
    args.out.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} names -> {args.out}")
    patterns = pair_patterns(args.pair_max_zipf)
    header = ("# Full names: a given name then a capitalized word, or a capitalized word then a "
              "surname\n# (Faker's names, wordfreq Zipf < "
              f"{args.pair_max_zipf}). Built by tools/build_names.py; do not edit by hand.\n")
    args.patterns_out.write_text(header + "\n".join(patterns) + "\n", encoding="utf-8")
    print(f"{len(patterns)} patterns -> {args.patterns_out}")
    header = ("# The name after a title or honorific (\"Dr. Wells\" -> Wells, \"Director Avery "
              "Bullock\"),\n# the title left readable. Built by tools/build_names.py; do not "
              "edit by hand.\n")
    DEFAULT_TITLED_OUT.write_text(header + titled_pattern() + "\n", encoding="utf-8")
    print(f"1 pattern -> {DEFAULT_TITLED_OUT}")


if __name__ == "__main__":
    main()
