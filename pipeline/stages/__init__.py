"""Stage kinds by YAML ``kind``. A new kind of detector is one new module and one line here."""

from __future__ import annotations

from pipeline.stages.base import Stage
from pipeline.stages.identifiers import IdentifierStage
from pipeline.stages.keywords import KeywordStage
from pipeline.stages.ner import NerStage
from pipeline.stages.patterns import RegexStage
from pipeline.stages.phone import PhoneStage

STAGE_KINDS: dict[str, type[Stage]] = {
    KeywordStage.kind: KeywordStage,
    RegexStage.kind: RegexStage,
    NerStage.kind: NerStage,
    PhoneStage.kind: PhoneStage,
    IdentifierStage.kind: IdentifierStage,
}

__all__ = ["STAGE_KINDS", "Stage", "KeywordStage", "RegexStage", "NerStage"]
