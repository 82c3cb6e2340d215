"""``anonymize-proxy server``: flags, settings, logging, and the aiohttp run loop.

Flags win over ``ANONYMIZE_PROXY_*`` environment variables, which win over the config file.
SIGTERM and SIGINT turn ``/readyz`` to 503 and give open requests and streams the grace
period (``proxy.serve``), then close the Redis pool and the upstream session.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
from typing import Any

from proxy.settings import LOG_FORMATS, LOG_LEVELS, load_settings


def add_server_command(commands: Any) -> None:
    server = commands.add_parser(
        "server", help="run the OpenAI-compatible proxy",
        description="Run the proxy. Flags win over ANONYMIZE_PROXY_* variables, which win "
                    "over the config file's server/upstream/store/auth/logging sections.")
    server.add_argument("-c", "--config", help="YAML file: pipeline and proxy sections "
                                               "(env ANONYMIZE_PROXY_CONFIG; "
                                               "default config/default.yaml)")
    server.add_argument("-b", "--host", help="address to bind (default 127.0.0.1)")
    server.add_argument("-p", "--port", type=int, help="port to bind (default 8080)")
    server.add_argument("--upstream", help="provider base URL, e.g. https://api.openai.com/v1")
    server.add_argument("--anthropic-upstream", dest="anthropic_upstream",
                        help="Anthropic API base URL (default https://api.anthropic.com)")
    server.add_argument("--redis-url", dest="redis_url",
                        help="redis://, rediss://, unix:// or memory:// "
                             "(default redis://127.0.0.1:6379/0)")
    server.add_argument("--redis-cluster", dest="redis_cluster", action="store_const",
                        const=True, help="the Redis URL points at a Redis Cluster")
    server.add_argument("--ttl-seconds", dest="ttl_seconds", type=int,
                        help="how long item maps are kept (default 3600)")
    server.add_argument("--max-body-bytes", dest="max_body_bytes", type=int,
                        help="request body limit (default 10 MiB)")
    server.add_argument("--shutdown-grace-seconds", dest="shutdown_grace_seconds", type=float,
                        help="time open streams get on SIGTERM (default 30)")
    server.add_argument("--log-format", dest="log_format", choices=LOG_FORMATS)
    # --loglevel: the spelling of anonymize-rs and of many servers; both are accepted.
    server.add_argument("--log-level", "--loglevel", dest="log_level", type=str.upper,
                        choices=LOG_LEVELS)
    server.set_defaults(run=run_server)


def run_server(args: argparse.Namespace) -> int:
    # Imported here so `anonymize-proxy anonymize` does not pay for the server's imports.
    from proxy.app import create_app
    from proxy.logs import configure_logging, log_event
    from proxy.serve import serve

    names = ("host", "port", "upstream", "anthropic_upstream", "redis_url", "redis_cluster",
             "ttl_seconds", "max_body_bytes", "shutdown_grace_seconds", "log_format", "log_level")
    settings = load_settings(args.config, {name: getattr(args, name) for name in names})
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)  # a bad pipeline config raises ConfigError here: exit 2
    # Everything loaded so far (modules, the pipeline, its keyword lists) lives as long as the
    # process: leave it out of garbage collection. Without this, each full collection walks
    # it all and stalls every request in flight for ~30 ms (9 of them per 27,000 requests).
    gc.collect()
    gc.freeze()
    address = listen_url(settings.host, settings.port)
    asyncio.run(serve(app, settings.host, settings.port, settings.shutdown_grace_seconds,
                      on_listening=lambda: log_event("listening", url=address)))
    return 0


def listen_url(host: str, port: int) -> str:
    """``http://127.0.0.1:8080``; an IPv6 address in brackets (``http://[::1]:8080``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
