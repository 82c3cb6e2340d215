"""Server-sent events of any API: bytes cut anywhere in, whole events out, and back to bytes.

The provider may split its bytes anywhere: inside a ``data:`` line, inside a multi-byte
character, inside a placeholder. Events are cut only at blank lines (ASCII), so each event
decodes whole. What an event means, and how its texts are restored, is the wire format's
business (``proxy/formats/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from proxy import jsonio

# A line ends with CRLF, LF or a lone CR (a CR at the buffer's end may still get its LF).
_EOL = rb"(?:\r\n|\r(?!\n|\Z)|\n)"
_EVENT_END = re.compile(_EOL + _EOL)
_LINE = re.compile(r"\r\n|\r|\n")


@dataclass
class SSEEvent:
    """One event: its non-data lines as they came, and its data (lines joined by ``\\n``)."""

    other_lines: list[str]
    data: str | None

    def encode(self) -> bytes:
        lines = list(self.other_lines)
        if self.data is not None:
            lines.extend("data: " + line for line in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()


class SSEDecoder:
    """Bytes in any pieces -> complete events."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        events = []
        while True:
            match = _EVENT_END.search(self._buffer)
            if match is None:
                break
            block, self._buffer = self._buffer[: match.start()], self._buffer[match.end():]
            if block.strip():
                events.append(parse_event(block))
        return events

    def finish(self) -> list[SSEEvent]:
        """The last event when the stream ended without a blank line."""
        block, self._buffer = self._buffer, b""
        return [parse_event(block)] if block.strip() else []


def parse_event(block: bytes) -> SSEEvent:
    text = block.decode("utf-8", errors="replace")
    other: list[str] = []
    data: list[str] = []
    for line in _LINE.split(text):
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        elif line:
            other.append(line)
    return SSEEvent(other, "\n".join(data) if data else None)


def data_event(payload: Any) -> bytes:
    return b"data: " + jsonio.dumps(payload) + b"\n\n"
