"""Build config/gazetteer/common_words.txt: everyday English words, most frequent first.

The ``ner`` stage tags a capitalized word that is no English word (``Nummelin``) at a low
model score, and asks more of words on this list (``Bright``, ``Whilst``, ``Will``): at a
sentence start or in a title they are capitalized without being names. The list is every
word with a ``wordfreq`` Zipf frequency of at least ``--min-zipf`` (3.0: once in a million
words or more), lower case, letters only, minus the frequent words that are names.

wordfreq counts words case-folded, so a frequent surname or place (``vargas``, ``watson``,
``clinton``) looks as everyday as ``bright``, and the model's bar for it rose from 3 % to 20 %.
A word leaves the list when an English dictionary writes it only capitalized (a proper noun:
Debian's ``wamerican`` and ``wbritish`` word lists, ``Vargas`` but no ``vargas``) and it is a
given name or surname of a Faker locale or a name of the shipped place lists. Proper nouns
that name no person or place (``Linux``, ``Thursday``) stay: they are not personal data. About
2,600 words leave, 25,800 stay.

The list is shipped in the repository; rebuilding needs ``pip install wordfreq faker`` and
``apt-get install wamerican wbritish`` (build time only):

    python tools/build_common_words.py [--min-zipf 3.0] [--dictionary FILE ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from build_names import faker_names  # noqa: E402

DEFAULT_OUT = ROOT / "config" / "gazetteer" / "common_words.txt"
DICTIONARIES = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english"))
# The shipped place gazetteers (tools/build_gazetteer.py).
PLACE_LISTS = ("locations.txt", "countries_anycase.txt")


def proper_nouns(dictionaries: Iterable[Path]) -> set[str]:
    """Lower-cased words the dictionaries write only with a capital (``Vargas``, ``Linux``)."""
    lower: set[str] = set()
    capitalized: set[str] = set()
    for path in dictionaries:
        for word in path.read_text(encoding="utf-8").split():
            (lower if word == word.lower() else capitalized).add(word)
    return {w.lower() for w in capitalized} - lower


def names_of_people_and_places() -> set[str]:
    """Lower-cased Faker given names and surnames and the shipped place lists' entries."""
    names = {n.lower() for n in faker_names()}
    for name in PLACE_LISTS:
        text = (ROOT / "config" / "gazetteer" / name).read_text(encoding="utf-8")
        names.update(line.strip().lower() for line in text.splitlines())
    return names


def build(min_zipf: float, dictionaries: Iterable[Path] = DICTIONARIES) -> list[str]:
    """Lower-case alphabetic English words at or above ``min_zipf``, most frequent first,
    without the proper nouns that name a person or a place."""
    from wordfreq import iter_wordlist, zipf_frequency  # build-time only

    names = proper_nouns(dictionaries) & names_of_people_and_places()
    words = []
    for word in iter_wordlist("en", "best"):
        if zipf_frequency(word, "en") < min_zipf:
            break
        if word.isalpha() and word == word.lower() and word not in names:
            words.append(word)
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-zipf", type=float, default=3.0)
    parser.add_argument("--dictionary", type=Path, action="append", default=None,
                        help="word list with proper nouns capitalized (default: wamerican "
                             "and wbritish)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    words = build(args.min_zipf, args.dictionary or DICTIONARIES)
    header = (f"# Everyday English words (wordfreq Zipf >= {args.min_zipf}), most frequent "
              "first,\n# minus proper nouns that name a person or a place.\n"
              "# Built by tools/build_common_words.py; see its docstring.\n")
    args.out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {args.out}")


if __name__ == "__main__":
    main()
