"""The servers a benchmark compares, each a real subprocess on a loopback port.

    direct        the fake upstream itself (what every figure is measured against)
    passthrough   benchmarks/passthrough.py in front of it (any aiohttp gateway pays this)
    rules         anonymize-proxy with the regex + keyword config (benchmarks/data.py)
    ner           anonymize-proxy with config/default.yaml (the NER model)

and, to split the proxy's cost, anonymize-proxy with the in-memory store (``memory://``) and
with a pipeline that never matches.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import PYTHON, REPO, free_port, server_process
from benchmarks.data import write_rules_config

DEFAULT_CONFIG = REPO / "config" / "default.yaml"
# A database of its own, and a short TTL: benchmark maps must not pile up in anyone's Redis.
BENCH_REDIS = "redis://127.0.0.1:6379/13"


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    pid: int = 0  # for a profiler: py-spy record -p PID


def proxy_available() -> str | None:
    """None when anonymize-proxy's server can run here, else why not."""
    if not (REPO / "proxy" / "server_cli.py").exists():
        return "proxy/server_cli.py is not there yet"
    return None


def ner_available() -> str | None:
    """None when the default (NER) config exists, else why not."""
    if not DEFAULT_CONFIG.exists():
        return "config/default.yaml is not there yet"
    return proxy_available()


@contextlib.contextmanager
def fake_upstream(chunks: int = 64, gap_ms: float = 20.0, workers: int = 1) -> Iterator[Target]:
    port = free_port()
    argv = [PYTHON, "-m", "benchmarks.fake_upstream", "--port", str(port),
            "--chunks", str(chunks), "--gap-ms", str(gap_ms), "--workers", str(workers)]
    with server_process(argv, port) as proc:
        yield Target("direct", port, proc.pid)


@contextlib.contextmanager
def passthrough(upstream: Target) -> Iterator[Target]:
    port = free_port()
    argv = [PYTHON, "-m", "benchmarks.passthrough", "--port", str(port),
            "--upstream", f"http://127.0.0.1:{upstream.port}/v1"]
    with server_process(argv, port) as proc:
        yield Target("passthrough", port, proc.pid)


def proxy_command() -> list[str]:
    script = Path(PYTHON).parent / "anonymize-proxy"
    if script.exists():
        return [str(script)]
    return [PYTHON, "-c", "import sys; from proxy.cli import main; sys.exit(main())"]


@contextlib.contextmanager
def anonymize_proxy(name: str, upstream: Target, config: Path, redis_url: str = BENCH_REDIS,
                    extra: tuple[str, ...] = (),
                    settings: dict[str, str] | None = None) -> Iterator[Target]:
    """anonymize-proxy as a user runs it (its default logging included); ``settings`` are
    ``ANONYMIZE_PROXY_*`` environment settings (the caller's own are never inherited)."""
    port = free_port()
    argv = [*proxy_command(), "server", "--host", "127.0.0.1", "--port", str(port),
            "--config", str(config), "--upstream", f"http://127.0.0.1:{upstream.port}/v1",
            "--redis-url", redis_url, "--ttl-seconds", "120", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANONYMIZE_PROXY_")}
    env.update(settings or {})
    with server_process(argv, port, env=env, timeout=180) as proc:
        yield Target(name, port, proc.pid)


@contextlib.contextmanager
def rules_config() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as folder:
        yield write_rules_config(Path(folder))


@contextlib.contextmanager
def noop_config() -> Iterator[Path]:
    """A pipeline that never matches: the proxy's own cost without detection."""
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as folder:
        config = Path(folder) / "noop.yaml"
        config.write_text("pipeline:\n  - kind: regex\n    name: NEVER\n"
                          "    patterns: ['(?!x)x']\n", encoding="utf-8")
        yield config


# What the "ner" target measures is the model on every request (see add_ner_target).
NER_SETTINGS = {"ANONYMIZE_PROXY_CONVERSATIONS": "false"}


def add_ner_target(stack: contextlib.ExitStack, targets: list[Target], upstream: Target,
                   with_ner: bool, missing: dict[str, str], ner_config: Path) -> None:
    """Start the NER-config proxy into ``targets``, or record in ``missing`` why it is not."""
    if not with_ner:
        missing["ner"] = "skipped (--no-ner)"
    elif reason := ner_available():
        missing["ner"] = reason
    else:
        try:
            # Conversations off: the load repeats one prompt, which with them on is a turn
            # of one conversation whose detections are cached, so the model would never run.
            targets.append(stack.enter_context(anonymize_proxy(
                "ner", upstream, ner_config, settings=NER_SETTINGS)))
        except RuntimeError as exc:
            missing["ner"] = f"did not start: {str(exc)[-300:]}"


@contextlib.contextmanager
def stream_targets(chunks: int, gap_ms: float, with_ner: bool, missing: dict[str, str],
                   ner_config: Path) -> Iterator[list[Target]]:
    """The fake upstream (streaming ``chunks`` pieces ``gap_ms`` apart), the pass-through and
    the proxies (rules; NER when asked), for the streaming benchmarks; what is unavailable
    goes into ``missing``."""
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(fake_upstream(chunks=chunks, gap_ms=gap_ms))
        targets = [upstream, stack.enter_context(passthrough(upstream))]
        if reason := proxy_available():
            missing["rules"] = missing["ner"] = reason
        else:
            config = stack.enter_context(rules_config())
            targets.append(stack.enter_context(anonymize_proxy("rules", upstream, config)))
            add_ner_target(stack, targets, upstream, with_ner, missing, ner_config)
        yield targets
