"""``upstream.extra_fields``: the operator's declaration of extra request fields, read and checked.

In YAML a mapping of API to fields to kinds::

    upstream:
      extra_fields:
        chat: {chat_template_kwargs: opaque, guided_json: opaque, mock_response: text}
        responses: {provider: opaque}

in the environment the same as comma-separated ``api.field=kind`` entries
(``ANONYMIZE_PROXY_EXTRA_FIELDS=chat.chat_template_kwargs=opaque,responses.provider=opaque``),
as ``auth.client_keys`` is a comma-separated list there. A wrong API, a wrong kind, a name that
is no identifier or a field the proxy already knows stops start-up naming the place
(``upstream.extra_fields.chat.top_k: ...``): what a known field holds is the proxy's decision,
never the config's.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import check_keys, join
from pipeline.errors import ConfigError
from proxy.formats.extra import APIS, KINDS, ExtraField, known_fields
from proxy.formats.schema import is_token

_ENV_FORM = "api.field=kind entries separated by commas (chat.top_a=number)"


def parse_extra_fields(value: Any, path: str) -> tuple[ExtraField, ...]:
    """The declared fields of a YAML mapping, or of the environment's ``api.field=kind`` text;
    ``path`` names the place in errors (``upstream.extra_fields`` or the variable)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = _from_text(value, path)
    if not isinstance(value, dict):
        raise ConfigError(path, "expected a mapping of APIs (chat, responses, messages, ...) "
                                "to their fields")
    check_keys(value, path, set(APIS))
    declared: list[ExtraField] = []
    for api, fields in value.items():
        where = join(path, api)
        if fields is None:
            continue
        if not isinstance(fields, dict):
            raise ConfigError(where, "expected a mapping of field names to kinds")
        known = known_fields(api)
        for name, kind in fields.items():
            declared.append(_field(api, name, kind, join(where, str(name)), known))
    return tuple(declared)


def _field(api: str, name: Any, kind: Any, where: str, known: frozenset[str]) -> ExtraField:
    if not isinstance(name, str) or not is_token(name):
        raise ConfigError(where, "a field name must be an identifier")
    if name in known:
        raise ConfigError(where, f"the proxy already knows this field of {api} and checks it "
                                 "itself; declare only fields it does not know")
    if kind not in KINDS:
        raise ConfigError(where, f"expected one of {', '.join(KINDS)}")
    return ExtraField(api, name, kind)


def _from_text(text: str, path: str) -> dict[str, dict[str, str]]:
    """``chat.top_a=number,responses.provider=opaque`` -> the YAML form."""
    out: dict[str, dict[str, str]] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        target, sep, kind = entry.partition("=")
        api, dot, name = target.strip().partition(".")
        if not (sep and dot and api and name):
            raise ConfigError(path, f"expected {_ENV_FORM}")
        fields = out.setdefault(api, {})
        if name in fields:
            raise ConfigError(join(join(path, api), name), "declared twice")
        fields[name] = kind.strip()
    return out
