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
from typing import Any

ACCESS = logging.getLogger("anonymize_proxy.access")
EVENTS = logging.getLogger("anonymize_proxy")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``event`` and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``ts level event key=value ...`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        head = time.strftime("%H:%M:%S", time.localtime(record.created))
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


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    EVENTS.log(level, event, extra={"fields": fields})


def log_request(**fields: Any) -> None:
    ACCESS.info("request", extra={"fields": fields})
