"""Extra top-level request fields an operator declares for an OpenAI-compatible upstream.

vLLM, OpenRouter and LiteLLM accept body fields OpenAI's API does not have
(``chat_template_kwargs``, ``provider``, ``mock_response``); the schemas refuse them, as they
refuse any field nobody has classified. ``upstream.extra_fields`` is that classification,
made by the operator in a closed vocabulary of the existing shapes: a declared field is
checked (and anonymized, for ``text`` and ``json-text``) like a field of the schema itself;
an undeclared one is still refused. ``opaque`` is the operator's word that the field carries
no user text: it is forwarded unread.

The module-level schemas stay as they are (the defaults); a server with extra fields gets
copies of its formats with extended schemas, built once at start-up (``with_extra_fields``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from proxy.formats.anthropic_schema import MESSAGES, JsonTexts
from proxy.formats.openai_schema import CHAT, COMPLETIONS, EMBEDDINGS
from proxy.formats.responses_schema import COMPACT, CREATE, INPUT_TOKENS
from proxy.formats.schema import BOOL, NUMBER, OPAQUE, TEXT, TOKEN, Obj, Shape


class _JsonTextField(JsonTexts):
    """``json-text``: any JSON whose every string is anonymized (as a tool call's input)."""

    code = "invalid_field"


KINDS: Mapping[str, Shape] = {
    "number": NUMBER,
    "bool": BOOL,
    "token": TOKEN,
    "text": TEXT,
    "json-text": _JsonTextField(),
    "opaque": OPAQUE,
}
"""The vocabulary of ``upstream.extra_fields``: kind name -> the shape that checks it."""

APIS: Mapping[str, tuple[Obj, ...]] = {
    "chat": (CHAT,),
    "completions": (COMPLETIONS,),
    "embeddings": (EMBEDDINGS,),
    "responses": (CREATE, INPUT_TOKENS, COMPACT),
    "messages": (MESSAGES,),
}
"""The APIs extra fields can be declared for, and the base schemas each one extends (a
Responses field is accepted by create, ``input_tokens`` and ``compact`` alike, since clients
send them the same body; Messages' schema serves ``count_tokens`` too)."""


@dataclass(frozen=True)
class ExtraField:
    """One declared field: ``api`` (a key of ``APIS``), its name, its kind (a key of ``KINDS``)."""

    api: str
    name: str
    kind: str


def known_fields(api: str) -> frozenset[str]:
    """The fields the base schemas of ``api`` already name: an extra field may not be one
    (the proxy's own classification of a known field is never overridden)."""
    return frozenset(name for schema in APIS[api] for name in schema.fields)


class HasSchema(Protocol):
    schema: Obj


F = TypeVar("F", bound=HasSchema)


def with_extra_fields(fmt: F, api: str, extras: Iterable[ExtraField]) -> F:
    """``fmt`` itself when nothing is declared for ``api``, else a copy whose schema also
    accepts the declared fields (the format's other state is shared: formats hold none)."""
    more = {field.name: KINDS[field.kind] for field in extras if field.api == api}
    if not more:
        return fmt
    extended = copy.copy(fmt)
    extended.schema = fmt.schema.extended(**more)
    return extended
