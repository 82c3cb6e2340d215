"""DESIGN invariant 2: a validated span (checksum, secret format) is never swallowed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline import Span
from pipeline.spans import resolve_overlaps

TEXT = "cards 4012888888881881 4012-8888-8888-1881 end"


def test_a_longer_model_span_is_cut_around_two_validated_cards() -> None:
    first, second = Span(6, 22, "CREDIT_CARD", 0, validated=True), Span(23, 42, "CREDIT_CARD", 0,
                                                                          validated=True)
    model = Span(0, 40, "BANK_ACCOUNT", 5, score=0.4)
    kept = resolve_overlaps([model, first, second], len(TEXT), TEXT)
    assert first in kept and second in kept
    # The model keeps only the word outside the cards; the space between them is no span.
    assert [(s.start, s.end, s.label) for s in kept if s.label == "BANK_ACCOUNT"] == [
        (0, 5, "BANK_ACCOUNT")]


def test_a_whole_pattern_match_over_a_validated_span_is_dropped_not_cut() -> None:
    text = "postgres://admin:hunter2x@db.internal:5432/prod"
    secret = Span(17, 25, "SECRET", 0, validated=True)
    email = Span(17, 37, "EMAIL", 2)  # "hunter2x@db.internal": score 1, a regex match
    assert resolve_overlaps([email, secret], len(text), text) == [secret]


def test_longer_validated_span_wins_among_validated_ones() -> None:
    a, b = Span(0, 10, "A", 1, validated=True), Span(2, 6, "B", 0, validated=True)
    assert resolve_overlaps([b, a], 12) == [a]


def test_without_validated_spans_the_longer_span_and_then_the_earlier_stage_win() -> None:
    assert resolve_overlaps([Span(0, 3, "A", 0), Span(0, 5, "B", 1)], 5) == [Span(0, 5, "B", 1)]
    assert resolve_overlaps([Span(0, 5, "B", 1), Span(0, 5, "A", 0)], 5) == [Span(0, 5, "A", 0)]


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 20), st.booleans(),
                          st.floats(0.01, 1.0)), max_size=25))
def test_kept_spans_never_overlap_and_every_validated_winner_is_whole(spans) -> None:
    text = "x" * 80
    given_spans = [Span(a, min(a + n, 80), "L", i, score, validated=v)
                   for i, (a, n, v, score) in enumerate(spans)]
    kept = resolve_overlaps(given_spans, 80, text)
    for left, right in zip(kept, kept[1:], strict=False):
        assert left.end <= right.start
    validated = [s for s in given_spans if s.validated]
    # Every validated span is kept whole unless a longer (or equal, earlier) validated one
    # overlaps it: no unvalidated span ever takes its place.
    for s in validated:
        if s not in kept:
            assert any(o.validated and o.start < s.end and s.start < o.end for o in kept)


def test_a_large_text_with_many_cut_spans_settles_correctly() -> None:
    # Occupancy maps, no pairwise checks: 50,000 validated spans each overlapped by a model
    # span settle in one pass (speed itself is measured in benchmarks/, not here).
    n = 50_000
    text = "ab " * n
    spans = [Span(i * 3, i * 3 + 2, "V", 0, validated=True) for i in range(n)]
    spans += [Span(i * 3, i * 3 + 5, "M", 1, score=0.5) for i in range(0, n, 2)]
    kept = resolve_overlaps(spans, len(text), text)
    assert sum(s.validated for s in kept) == n
    assert not any(s.label == "M" for s in kept)  # only spaces were left between the pieces
