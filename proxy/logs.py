"""Structured logs: one line per request, as JSON or as ``key=value`` text.

Only fields chosen by the proxy are logged (ids, route templates, statuses, counts, type
names of errors); never a message text, a query string or an exception message, since any
of those may quote the user.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

ACCESS = logging.getLogger("anonymize_proxy.access")
EVENTS = logging.getLogger("anonymize_proxy")


class _SecondClock:
    """``time.strftime`` of a record's second, formatted once per second, not once a line."""

    def __init__(self, fmt: str, convert: Callable[[float], time.struct_time]) -> None:
        self._fmt = fmt
        self._convert = convert
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._text = time.strftime(self._fmt, self._convert(second))
            self._second = second
        return self._text


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``event`` and the fields."""

    def __init__(self) -> None:
        super().__init__()
        self._clock = _SecondClock("%Y-%m-%dT%H:%M:%S", time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._clock(record.created) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``ts level event key=value ...`` for a terminal."""

    def __init__(self) -> None:
        super().__init__()
        self._clock = _SecondClock("%H:%M:%S", time.localtime)

    def format(self, record: logging.LogRecord) -> str:
        head = self._clock(record.created)
        fields = getattr(record, "fields", {})
        tail = " ".join(f"{k}={_text_value(v)}" for k, v in fields.items())
        return f"{head} {record.levelname:<7} {record.getMessage()} {tail}".rstrip()


def _text_value(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return str(value)


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Route every logger (aiohttp's too) through one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log would print raw paths with query strings (GET /api/anonymize?text=).
    logging.getLogger("aiohttp.access").disabled = True
    # No formatter here prints thread or process names; not collecting them makes every
    # record cheaper (the logging HOWTO's "Optimization" section).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    EVENTS.log(level, event, extra={"fields": fields})


def log_request(**fields: Any) -> None:
    """The request's one access line. The record is made directly: ``Logger.info`` would also
    walk the stack to find the caller's file and line, which no formatter here prints."""
    if ACCESS.isEnabledFor(logging.INFO):
        ACCESS.handle(ACCESS.makeRecord(ACCESS.name, logging.INFO, __file__, 0, "request", (),
                                        None, extra={"fields": fields}))
