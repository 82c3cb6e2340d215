"""Who is upstream: which client headers a provider gets, and how its auth is passed or replaced.

One proxy serves several providers (OpenAI-compatible, Anthropic); each ``WireFormat`` names
its ``provider`` and the relay sends through that provider's ``Upstream`` (base URL, pooled
session). In egress mode the client shows one of the proxy's client keys and the proxy puts
its own provider key in its place, in the provider's own header.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from aiohttp import web
from multidict import CIMultiDict

from proxy.errors import unauthorized
from proxy.settings import Settings


class Provider:
    """Header rules of one provider. Subclass for another provider's auth headers."""

    #: Key of the provider's ``Upstream`` in the proxy state (``WireFormat.provider``).
    name: str = "openai"
    #: Request headers passed on (everything else, cookies and hop-by-hop included, stays).
    forward_headers: tuple[str, ...] = ("authorization", "openai-organization", "openai-project",
                                        "openai-beta", "accept", "api-key")
    #: Headers that carry the client's own provider key (dropped in egress mode).
    auth_headers: tuple[str, ...] = ("authorization", "api-key")

    def client_key(self, headers: Mapping[str, str]) -> str | None:
        """The key the client presented (checked against ``auth.client_keys`` in egress)."""
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return headers.get("api-key") or None

    def own_key_headers(self, key: str) -> dict[str, str]:
        """Egress mode: the proxy's own provider key, as this provider wants it."""
        return {"Authorization": f"Bearer {key}"}

    def check_client(self, request: web.Request, settings: Settings) -> None:
        """Egress mode: the client must present one of the configured keys (401 if not)."""
        if not settings.egress_mode:
            return
        token = self.client_key(request.headers)
        if not token or not any(hmac.compare_digest(token, k) for k in settings.client_keys):
            raise unauthorized()

    def headers(self, incoming: Mapping[str, str], own_key: str | None) -> CIMultiDict[str]:
        """The headers of the upstream request."""
        out: CIMultiDict[str] = CIMultiDict()
        for name in self.forward_headers:
            if name in incoming:
                out[name] = incoming[name]
        if own_key:
            for name in self.auth_headers:
                out.pop(name, None)
            out.update(self.own_key_headers(own_key))
        out["Content-Type"] = "application/json"
        return out


OPENAI = Provider()
