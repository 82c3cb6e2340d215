"""Build config/gazetteer/common_words.txt: everyday English words, most frequent first.

The ``ner`` stage tags a capitalized word that is no English word (``Nummelin``) at a low
model score, and asks more of words on this list (``Bright``, ``Whilst``, ``Will``): at a
sentence start or in a title they are capitalized without being names. The list is every
word with a ``wordfreq`` Zipf frequency of at least ``--min-zipf`` (3.0: once in a million
words or more, about 29,000 words), lower case, letters only.

The list is shipped in the repository; rebuilding needs ``pip install wordfreq`` (build time
only, the ``gazetteer`` extra):

    python tools/build_common_words.py [--min-zipf 3.0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "config" / "gazetteer" / "common_words.txt"


def build(min_zipf: float) -> list[str]:
    """Lower-case alphabetic English words at or above ``min_zipf``, most frequent first."""
    from wordfreq import iter_wordlist, zipf_frequency  # build-time only

    words = []
    for word in iter_wordlist("en", "best"):
        if zipf_frequency(word, "en") < min_zipf:
            break
        if word.isalpha() and word == word.lower():
            words.append(word)
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-zipf", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    words = build(args.min_zipf)
    header = (f"# Everyday English words (wordfreq Zipf >= {args.min_zipf}), most frequent "
              "first.\n# Built by tools/build_common_words.py; see its docstring.\n")
    args.out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {args.out}")


if __name__ == "__main__":
    main()
