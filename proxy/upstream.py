"""The provider side: one pooled ``aiohttp.ClientSession``, header rules, and error mapping.

Connection failures become 502 and timeouts 504 (OpenAI error shape). Only headers a
provider needs are forwarded; the client's ``Authorization`` goes on, except in egress mode
where the proxy sends its own key.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from urllib.parse import quote, unquote

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from proxy.errors import ProxyError, bad_request, upstream_timeout, upstream_unreachable
from proxy.providers import OPENAI, Provider

# Response headers passed back to the client.
FORWARD_RESPONSE_PREFIXES = ("openai-", "x-ratelimit-", "anthropic-ratelimit-")
# ``request-id``: Anthropic's own id of the call (its SDKs show it in errors).
FORWARD_RESPONSE_HEADERS = ("retry-after", "retry-after-ms", "request-id")
# A path parameter (a model id: ``gpt-4o-mini``, ``ft:gpt-4o-mini:org:name:id``) is one
# segment of these characters, never ``.``/``..``, a slash or a percent escape.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,255}")


def invalid_path() -> ProxyError:
    return bad_request("a path parameter has characters the proxy does not forward",
                       "invalid_path_parameter")


def path_segment(value: str) -> str:
    """A client's path parameter as one encoded segment; anything else is refused (400), so
    ``..%2f`` can never walk out of the route to another path of the provider."""
    if not _SEGMENT.fullmatch(value):
        raise invalid_path()
    return quote(value, safe=":@+")


class Upstream:
    """The provider's base URL and a shared, pooled HTTP session."""

    def __init__(self, base_url: str, *, connect: float, first_byte: float, total: float,
                 api_key: str | None = None, pool_size: int = 256,
                 provider: Provider = OPENAI) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = URL(self.base_url)
        self.api_key = api_key
        self.provider = provider
        self._timeout = aiohttp.ClientTimeout(total=total, connect=connect, sock_read=first_byte)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        # Answers being read or relayed now, so a shutdown can cut them (``abort_open``).
        self._open: weakref.WeakSet[aiohttp.ClientResponse] = weakref.WeakSet()

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size,
                                         ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                              auto_decompress=True, trust_env=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, path: str) -> URL:
        """``/chat/completions`` -> ``{base_url}/chat/completions``, never outside the base
        path: every route's URL passes here, so no segment may be empty, ``.`` or ``..``, or
        hide a slash or backslash behind an escape (400 otherwise)."""
        segments = path.split("/")
        if segments[0] != "" or len(segments) < 2:
            raise invalid_path()
        for segment in segments[1:]:
            plain = unquote(segment)
            if plain in ("", ".", "..") or "/" in plain or "\\" in plain or "?" in plain \
                    or "#" in plain:
                raise invalid_path()
        base_path = self._base.raw_path.rstrip("/")
        url = self._base.with_path(base_path + path, encoded=True)
        if not url.raw_path.startswith(base_path + "/") or url.origin() != self._base.origin():
            raise invalid_path()
        return url

    def headers(self, incoming: Mapping[str, str]) -> CIMultiDict[str]:
        """The provider's headers from the client's (its own key in egress mode)."""
        return self.provider.headers(incoming, self.api_key)

    async def send(self, method: str, path: str, *, headers: Mapping[str, str],
                   query: Mapping[str, str] | None = None,
                   body: bytes | None = None) -> aiohttp.ClientResponse:
        """Open the upstream response (headers read; body not yet)."""
        if self._session is None:
            raise upstream_unreachable()
        url = self.url(path)
        try:
            response = await self._session.request(method, url, headers=headers, params=query,
                                                   data=body, allow_redirects=False)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise upstream_timeout() from None
        except (aiohttp.ClientError, OSError):
            raise upstream_unreachable() from None
        self._open.add(response)
        return response

    def abort_open(self, error: ProxyError) -> None:
        """End every answer still being read: its reader raises ``error`` (a stream relay
        sends it as its last SSE event, a waiting request answers with it)."""
        for response in list(self._open):
            if not response.closed:
                response.content.set_exception(error)


class UpstreamReadError(ProxyError):
    """The provider's answer broke off while its body was read (the app counts these in
    ``upstream_errors_total``, as ``_send`` counts failures to get an answer at all)."""


async def read_body(response: aiohttp.ClientResponse) -> bytes:
    """The whole body of a non-streamed answer, with the same error mapping."""
    try:
        return await response.read()
    except (TimeoutError, aiohttp.ServerTimeoutError):
        error = upstream_timeout()
    except (aiohttp.ClientError, OSError):
        error = upstream_unreachable()
    raise UpstreamReadError(error.status, error.message, error.type, error.code) from None


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
    if isinstance(exc, ProxyError):  # set on the answer by ``abort_open`` (shutdown)
        return exc
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return upstream_timeout()
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return upstream_unreachable()
    return None
