"""Benchmark 4: the keyword (flashText) stage at 10,000 keywords, in characters per second.

Compared in the same run, interleaved: the stage as shipped (flashtext + Unicode word
boundaries + length-preserving case fold), bare flashtext (ASCII boundaries, ``str.lower``),
one compiled ``re`` alternation, and the pyahocorasick stage that runs
(``pipeline/stages/keyword_automaton.py``, same spans), with ``match: word`` and with the
seed's default ``match: prefix`` (a keyword masks the word it begins).

    python -m benchmarks.keywords [--quick] [--json FILE]
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from flashtext import KeywordProcessor

from benchmarks.common import emit, format_table, interleave, parser, ratio, summarize
from benchmarks.data import keyword_text, keywords
from pipeline.stages.keywords import KeywordStage

try:  # pyahocorasick: the proposed engine; the other variants run without it
    from pipeline.stages.keyword_automaton import AutomatonKeywordStage
except ImportError:  # pragma: no cover - depends on the environment
    AutomatonKeywordStage = None  # type: ignore[assignment,misc]


def compiled_alternation(words: list[str]) -> re.Pattern[str]:
    """``(?<!\\w)(?:longest|...|shortest)(?!\\w)``, case-insensitive: what a regex user writes."""
    body = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def variants(words: list[str]) -> dict[str, Callable[[str], int]]:
    """Each variant: text in, number of matches out (the count is checked, not just timed)."""
    stage = KeywordStage(0, "K", words, case_sensitive=False)
    bare = KeywordProcessor()
    for word in words:
        bare.add_keyword(word)
    pattern = compiled_alternation(words)
    out = {
        "stage (flashtext)": lambda t: len(stage.detect(t)),
        "bare flashtext": lambda t: len(bare.extract_keywords(t, span_info=True)),
        "re alternation": lambda t: sum(1 for _ in pattern.finditer(t)),
    }
    if AutomatonKeywordStage is not None:
        automaton = AutomatonKeywordStage(0, "K", words, case_sensitive=False, match="word")
        prefix = AutomatonKeywordStage(0, "K", words, case_sensitive=False, match="prefix")
        out["automaton stage"] = lambda t: len(automaton.detect(t))
        out["automaton, match: prefix"] = lambda t: len(prefix.detect(t))
    return out


def run(n_keywords: int, chars: int, re_chars: int, rounds: int) -> dict[str, Any]:
    words = keywords(n_keywords)
    text = keyword_text(chars, words)
    # One alternation of 10,000 words is ~100x slower: it gets a prefix of the same text.
    texts = {name: text[:re_chars] if name == "re alternation" else text
             for name in variants(words[:1])}
    fns = variants(words)
    matches = {name: fn(texts[name]) for name, fn in fns.items()}  # warm-up, and the counts

    def timed(name: str) -> Callable[[], float]:
        def once() -> float:
            start = time.perf_counter()
            fns[name](texts[name])
            return time.perf_counter() - start
        return once

    seconds = interleave({name: timed(name) for name in fns}, rounds)
    out: dict[str, Any] = {"keywords": n_keywords, "chars": len(text), "rounds": rounds,
                           "variants": {}}
    for name, samples in seconds.items():
        per_char = [s / len(texts[name]) for s in samples]
        out["variants"][name] = {
            "chars": len(texts[name]),
            "matches": matches[name],
            "chars_per_s": 1.0 / summarize(per_char)["p50"],
            "seconds": summarize(samples),
        }
    speed = {name: v["chars_per_s"] for name, v in out["variants"].items()}
    out["ratios"] = {
        "stage / bare flashtext": ratio(speed["stage (flashtext)"], speed["bare flashtext"]),
        "stage / re alternation": ratio(speed["stage (flashtext)"], speed["re alternation"]),
    }
    if "automaton stage" in speed:
        out["ratios"].update({
            "automaton / bare flashtext": ratio(speed["automaton stage"], speed["bare flashtext"]),
            "automaton / stage": ratio(speed["automaton stage"], speed["stage (flashtext)"]),
            "automaton / re alternation": ratio(speed["automaton stage"],
                                                speed["re alternation"]),
            "automaton prefix / automaton word": ratio(speed["automaton, match: prefix"],
                                                       speed["automaton stage"]),
        })
    else:
        out["missing"] = {"automaton stage": "pyahocorasick is not installed"}
    return out


def table(result: dict[str, Any]) -> str:
    rows = [[name, v["chars"], v["matches"], v["chars_per_s"] / 1e6, v["seconds"]["p50"] * 1e3,
             v["seconds"]["p99"] * 1e3] for name, v in result["variants"].items()]
    head = (f"keywords={result['keywords']} text={result['chars']} chars "
            f"rounds={result['rounds']}\n\n")
    return (head + format_table(["variant", "chars", "matches", "Mchar/s (median)",
                                 "ms p50", "ms p99"], rows)
            + "\n\n" + format_table(["ratio (chars/s)", "value"],
                                    list(result["ratios"].items())))


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    if args.quick:
        result = run(n_keywords=2000, chars=20_000, re_chars=5_000, rounds=2)
    else:
        result = run(n_keywords=10_000, chars=200_000, re_chars=20_000, rounds=15)
    emit("keywords", args, result, table(result))


if __name__ == "__main__":
    main()
