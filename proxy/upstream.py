"""The provider side: one pooled ``aiohttp.ClientSession``, header rules, and error mapping.

Connection failures become 502 and timeouts 504 (OpenAI error shape). Only headers a
provider needs are forwarded; the client's ``Authorization`` goes on, except in egress mode
where the proxy sends its own key.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.errors import ProxyError, upstream_timeout, upstream_unreachable
from proxy.providers import OPENAI, Provider

# Response headers passed back to the client.
FORWARD_RESPONSE_PREFIXES = ("openai-", "x-ratelimit-", "anthropic-ratelimit-")
FORWARD_RESPONSE_HEADERS = ("retry-after", "retry-after-ms")


class Upstream:
    """The provider's base URL and a shared, pooled HTTP session."""

    def __init__(self, base_url: str, *, connect: float, first_byte: float, total: float,
                 api_key: str | None = None, pool_size: int = 256,
                 provider: Provider = OPENAI) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.provider = provider
        self._timeout = aiohttp.ClientTimeout(total=total, connect=connect, sock_read=first_byte)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size,
                                         ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                              auto_decompress=True, trust_env=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, path: str) -> str:
        """``/chat/completions`` -> ``{base_url}/chat/completions``."""
        return self.base_url + path

    def headers(self, incoming: Mapping[str, str]) -> CIMultiDict[str]:
        """The provider's headers from the client's (its own key in egress mode)."""
        return self.provider.headers(incoming, self.api_key)

    async def send(self, method: str, path: str, *, headers: Mapping[str, str],
                   query: Mapping[str, str] | None = None,
                   body: bytes | None = None) -> aiohttp.ClientResponse:
        """Open the upstream response (headers read; body not yet)."""
        if self._session is None:
            raise upstream_unreachable()
        try:
            return await self._session.request(method, self.url(path), headers=headers,
                                               params=query, data=body, allow_redirects=False)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise upstream_timeout() from None
        except (aiohttp.ClientError, OSError):
            raise upstream_unreachable() from None


async def read_body(response: aiohttp.ClientResponse) -> bytes:
    """The whole body of a non-streamed answer, with the same error mapping."""
    try:
        return await response.read()
    except (TimeoutError, aiohttp.ServerTimeoutError):
        raise upstream_timeout() from None
    except (aiohttp.ClientError, OSError):
        raise upstream_unreachable() from None


def response_headers(upstream: CIMultiDictProxy[str]) -> dict[str, str]:
    """Rate-limit and provider headers a client may act on; the provider's own request id
    travels as ``X-Upstream-Request-Id`` (the proxy's id is ``X-Request-Id``)."""
    out = {}
    for name, value in upstream.items():
        lower = name.lower()
        if lower.startswith(FORWARD_RESPONSE_PREFIXES) or lower in FORWARD_RESPONSE_HEADERS:
            out[name] = value
    if "x-request-id" in upstream:
        out["X-Upstream-Request-Id"] = upstream["x-request-id"]
    return out


def is_upstream_failure(exc: BaseException) -> ProxyError | None:
    """The error to report for an exception raised while relaying, if it is upstream's."""
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return upstream_timeout()
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return upstream_unreachable()
    return None
