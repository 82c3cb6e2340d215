"""Real client programs (Claude Code) against the proxy: the proxy's fixtures, reused."""

from tests.proxy.conftest import redis_prefix, start_proxy, upstream  # noqa: F401
