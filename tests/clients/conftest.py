"""Real client programs (Claude Code) against the proxy: the proxy's fixtures, reused."""

from tests.proxy.conftest import (  # noqa: F401
    redis_prefix,
    serve_fake,
    start_proxy,
    upstream,
)
