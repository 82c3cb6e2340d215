"""Errors the pipeline raises. Messages never carry a piece of the user's text."""

from __future__ import annotations


class PipelineError(Exception):
    """Anonymization could not complete; callers must not forward the text (fail closed)."""


class ConfigError(PipelineError):
    """A configuration is wrong. ``path`` points into the YAML, e.g. ``pipeline[2].patterns[1]``."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)
