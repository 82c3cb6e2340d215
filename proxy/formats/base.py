"""The wire-format interface: what the shared relay (``proxy/relay.py``) asks of one API.

A wire format knows one API's JSON and nothing else: which strings of a request the provider
reads as text, which fields carry none, how a whole answer, an upstream error and each stream
event are restored, and how this API spells an error. It knows nothing of Redis, of the
pipeline or of aiohttp's request lifecycle. A new API is one new module in ``proxy/formats/``.

The relay runs the fail-closed order once, for every format (nothing reaches the provider
before step 8, and any failure before it sends nothing):

 1. the route sets ``ERROR_FORMAT`` so every error of the request has this API's shape;
 2. the client key is checked (``Provider.check_client``; egress mode only);
 3. the body is read (size limit) and parsed as a JSON object (400/413);
 4. ``request_texts(body)``: every text slot; any value anywhere in the body that is neither
    a known text slot nor inside a field known to carry no user text -> 400 (structural);
 5. hooks ``known_mapping``: mappings to extend (a conversation, a previous response),
    passed to the pipeline as ``known``; then every slot's text is anonymized in one
    pipeline call (one mapping) and written back into the body in place;
 6. hooks ``anonymized``: adjust the anonymized body (swap a signed thinking block back to
    the provider's exact bytes) or persist state; may still refuse (nothing sent yet);
 7. the request's map is stored (a store failure -> 503, nothing sent);
 8. the body goes upstream (the format's ``provider``, its headers, ``forwarded_query``);
 9. the answer: JSON -> ``restore_answer`` (2xx) or ``restore_error``; SSE ->
    ``stream(restorer)``, one event in, bytes out; hooks ``answered`` run before the
    client gets the answer's last byte, so a follow-up turn finds what they stored.

Hooks are ``RelayHook`` methods: a format overrides its own (``WireFormat`` is one), and
layers that are not a format (the conversation mapping) are extra ``RelayHook`` objects the
relay also calls, in order, after the format's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from aiohttp import web

from pipeline.span_cache import SpanCache
from proxy.errors import ProxyError
from proxy.restoring import Restorer
from proxy.streaming import SSEEvent


@dataclass(slots=True)
class TextSlot:
    """One string of the request that the provider reads: ``container[key]``.

    The relay reads every slot, anonymizes all of them in one call and writes them back, so
    the body sent upstream is the client's body with only its texts replaced.
    """

    container: dict[str, Any] | list[Any]
    key: str | int

    def get(self) -> str:
        return self.container[self.key]  # type: ignore[index]

    def set(self, value: str) -> None:
        self.container[self.key] = value  # type: ignore[index]

    def set_later(self, value: str) -> SharedParent | None:
        """``set``, except that a slot sharing its parent string with other slots (a value
        of JSON arguments) may leave that parent to be rebuilt once, after all the sets:
        it returns it (``write_texts`` does this)."""
        self.set(value)
        return None


class SharedParent(Protocol):
    """A string several slots write into, rebuilt from their values."""

    def rebuild(self) -> None: ...


def write_texts(slots: Iterable[TextSlot], texts: Iterable[str]) -> None:
    """Write each text into its slot; a shared parent is rebuilt once, not once per slot, so
    the work stays linear in the body however many values one arguments string holds."""
    parents: dict[int, SharedParent] = {}
    for slot, text in zip(slots, texts, strict=True):
        parent = slot.set_later(text)
        if parent is not None:
            parents[id(parent)] = parent
    for parent in parents.values():
        parent.rebuild()


@dataclass
class Exchange:
    """One proxied request as the hooks see it; the relay fills it in as it goes."""

    request: web.Request
    # The client's body; anonymized in place after step 5 (what goes upstream).
    body: dict[str, Any]
    slots: list[TextSlot] = field(default_factory=list)
    # Mappings supplied by ``known_mapping`` hooks (placeholder -> original), merged.
    known: dict[str, str] = field(default_factory=dict)
    # The request's whole mapping after anonymization (known ones included).
    items: dict[str, str] = field(default_factory=dict)
    # Per-request state of a format or a hook (a format's own key, e.g. "anthropic.thinking").
    scratch: dict[str, Any] = field(default_factory=dict)
    # Slots (by index) a ``known_mapping`` hook already has the provider-visible form of (a
    # conversation's earlier turns): sent as they were, not anonymized again.
    frozen: dict[int, str] = field(default_factory=dict)
    # Detector results of texts analyzed before (proxy/conversation.py sets it).
    span_cache: SpanCache | None = None


@dataclass
class Answer:
    """What the provider answered, given to ``answered`` hooks before the client has it all.

    For a JSON answer ``upstream`` is the provider's parsed body as it came (placeholders in)
    and ``restored`` what the client gets; for a stream both are None and ``stream`` is the
    translator, which a format's own hook may ask for what it collected.
    """

    status: int
    upstream: Any = None
    restored: Any = None
    stream: StreamTranslator | None = None


class RelayHook:
    """Points of the relay's order where a format or a layer may take part (no-ops here)."""

    async def known_mapping(self, exchange: Exchange) -> Mapping[str, str]:
        """An existing ``{placeholder: original}`` mapping to extend before anonymization,
        so known values keep their placeholders (Responses ``previous_response_id``, a
        conversation). Empty: a fresh mapping."""
        return {}

    async def anonymized(self, exchange: Exchange) -> None:
        """After anonymization, before the map is stored and the body sent: adjust
        ``exchange.body`` or persist state; raising a ``ProxyError`` still sends nothing."""

    async def answered(self, exchange: Exchange, answer: Answer) -> None:
        """The provider's answer, before the client has its last byte (store things keyed by
        the provider's response id here). Not called when the upstream call failed."""


class StreamTranslator(ABC):
    """One streamed answer's state: one upstream SSE event in, the bytes to send out.

    Placeholders split across events are rejoined (one streaming restorer per output field);
    only a tail that could still become a placeholder is held, and it is flushed before the
    stream's end marker.
    """

    #: True once the bytes returned by the last ``feed`` hold the API's end marker
    #: (``[DONE]``, ``message_stop``, ``response.completed``); the relay then runs the
    #: ``answered`` hooks before writing them.
    finished: bool = False

    @abstractmethod
    def feed(self, event: SSEEvent) -> list[bytes]:
        """One upstream event -> the encoded events to send, in order."""

    @abstractmethod
    def end(self) -> list[bytes]:
        """The upstream's bytes ended: whatever is still held (nothing if the end marker
        already flushed it). Called once."""

    @abstractmethod
    def error_event(self, error: ProxyError) -> bytes:
        """The last event of a stream that failed midway, in this API's stream error shape."""


class WireFormat(RelayHook, ABC):
    """One API endpoint's JSON: request texts, answer and stream restoring, error shape."""

    #: Short stable name, used in logs and metrics (``openai.chat``).
    name: ClassVar[str]
    #: Which ``Provider`` (upstream) serves it: ``openai``, ``anthropic``.
    provider: ClassVar[str] = "openai"

    @abstractmethod
    def request_texts(self, body: dict[str, Any]) -> list[TextSlot]:
        """Every text of the request the provider reads.

        Structural, fail closed: any value anywhere in ``body`` that is neither a text slot
        nor inside a field known to carry no user text (model names, enums, ids, numbers,
        tool schemas) raises a 400 ``ProxyError``, whatever its type. Messages name the place
        by known keys and indices only, never by a key or value of the request.
        """

    def wants_stream(self, body: dict[str, Any]) -> bool:
        """Whether the client asked for a stream (``"stream": true`` in most APIs)."""
        return body.get("stream") is True

    @abstractmethod
    def restore_answer(self, body: Any, restorer: Restorer) -> Any:
        """A 2xx JSON answer with its texts restored (ids, usage, structure kept)."""

    def restore_error(self, body: Any, restorer: Restorer) -> Any:
        """An upstream error body: its message may quote the anonymized prompt."""
        return restore_tree(body, restorer)

    @abstractmethod
    def stream(self, restorer: Restorer) -> StreamTranslator:
        """A new translator for one streamed answer."""

    @abstractmethod
    def error_body(self, error: ProxyError) -> dict[str, Any]:
        """The proxy's own refusal in this API's error shape."""

    def error_response(self, error: ProxyError) -> web.Response:
        return web.json_response(self.error_body(error), status=error.status)

    def forwarded_query(self, query: Mapping[str, str]) -> dict[str, str]:
        """The query parameters sent upstream: only known ones (none by default), since a
        query string is text the provider reads like the body."""
        return {}


def restore_tree(value: Any, restorer: Restorer,
                 json_keys: frozenset[str] = frozenset()) -> Any:
    """Every string inside ``value`` restored (dict keys kept); a string under one of
    ``json_keys`` is a JSON document (tool-call arguments) and gets JSON-escaped originals."""
    if isinstance(value, str):
        return restorer.text(value)
    if isinstance(value, list):
        return [restore_tree(v, restorer, json_keys) for v in value]
    if isinstance(value, dict):
        return {k: restorer.for_json().text(v) if k in json_keys and isinstance(v, str)
                else restore_tree(v, restorer, json_keys) for k, v in value.items()}
    return value


ERROR_FORMAT: web.RequestKey[WireFormat] = web.RequestKey("error_format", WireFormat)
"""Set by a route before anything can fail, so the error middleware answers in its shape."""
