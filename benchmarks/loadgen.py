"""A light HTTP/1.1 load generator in its own process: raw asyncio streams, keep-alive.

It runs apart from the benchmark driver so that client cost never mixes with the cost of the
server measured, and it is lighter than an HTTP library (a request is one ``write`` and a few
``readexactly``). The driver talks to it with one JSON line per command on stdin/stdout:

    {"op": "latency", "port": 8101, "body": "...", "concurrency": 1, "requests": 200}
    {"op": "stream", "port": 8101, "body": "...", "concurrency": 50, "streams": 50}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import PYTHON, REPO

PATH = "/v1/chat/completions"


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive connection to ``127.0.0.1:port``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    def send(self, request: bytes) -> None:
        self.writer.write(request)

    async def read_head(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        return int(head[9:12]), head.lower()

    async def body_pieces(self, head: bytes):  # -> AsyncIterator[bytes]
        """The body as it arrives: Content-Length, chunked, or until the server closes."""
        pos = head.find(b"\ncontent-length:")
        if pos >= 0:
            end = head.find(b"\r\n", pos + 1)
            yield await self.reader.readexactly(int(head[pos + 16 : end]))
        elif b"transfer-encoding: chunked" in head:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    return
                yield (await self.reader.readexactly(size + 2))[:-2]
        else:
            while piece := await self.reader.read(65536):
                yield piece

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def build_request(port: int, body: str, path: str = PATH, headers: dict[str, str] | None = None,
                  ) -> bytes:
    data = body.encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer sk-bench\r\n{extra}Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def one_request(conn: Connection, request: bytes) -> bytes:
    conn.send(request)
    status, head = await conn.read_head()
    body = b"".join([piece async for piece in conn.body_pieces(head)])
    if status != 200:
        raise HttpError(f"HTTP {status}: {body[:300]!r}")
    return body


def requests_of(cmd: dict[str, Any]) -> list[bytes]:
    """The prebuilt requests of a command: ``body`` or several ``bodies`` used in turn."""
    bodies = cmd.get("bodies") or [cmd["body"]]
    return [build_request(cmd["port"], b, cmd.get("path", PATH), cmd.get("headers"))
            for b in bodies]


async def run_latency(cmd: dict[str, Any]) -> dict[str, Any]:
    """``requests`` requests (or as many as fit in ``duration`` s) over ``concurrency``
    keep-alive connections; per-request seconds and the elapsed time."""
    port, concurrency = cmd["port"], cmd["concurrency"]
    requests = requests_of(cmd)
    budget = cmd.get("requests", 1_000_000)
    duration = cmd.get("duration", 600.0)
    conns = [await Connection.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []
    sent = 0

    async def attempt(conn: Connection, request: bytes, record: bool) -> None:
        start = time.perf_counter()
        try:
            await one_request(conn, request)
        except (HttpError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(str(exc)[:300])
            return
        if record:
            latencies.append(time.perf_counter() - start)

    try:
        for i in range(cmd.get("warmup", 2)):
            await asyncio.gather(*(attempt(c, requests[i % len(requests)], False) for c in conns))
        errors.clear()
        start = time.perf_counter()
        deadline = start + duration

        async def worker(conn: Connection) -> None:
            nonlocal sent
            while sent < budget and time.perf_counter() < deadline:
                request = requests[sent % len(requests)]
                sent += 1
                await attempt(conn, request, True)

        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.perf_counter() - start
    finally:
        for conn in conns:
            await conn.close()
    return {"latencies": latencies, "elapsed": elapsed, "errors": len(errors),
            "first_error": errors[0] if errors else None}


async def run_ready(cmd: dict[str, Any]) -> dict[str, Any]:
    """Poll with the real request until it answers 200 (a proxy may load its model first)."""
    deadline = time.perf_counter() + cmd.get("timeout", 120.0)
    last = None
    while time.perf_counter() < deadline:
        try:
            conn = await Connection.open(cmd["port"])
            try:
                await one_request(conn, requests_of(cmd)[0])
                return {"ok": True, "last_error": None}
            finally:
                await conn.close()
        except (HttpError, asyncio.IncompleteReadError, ValueError, OSError) as exc:
            last = str(exc)[:300]
        await asyncio.sleep(0.25)
    return {"ok": False, "last_error": last}


async def one_stream(port: int, request: bytes) -> dict[str, Any]:
    """Send one streaming request; time each content delta as its bytes arrive."""
    conn = await Connection.open(port)
    try:
        start = time.perf_counter()
        conn.send(request)
        status, head = await conn.read_head()
        times: list[float] = []
        content: list[str] = []
        done = False
        buffer = b""
        async for piece in conn.body_pieces(head):
            now = time.perf_counter()
            buffer += piece
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                for line in event.split(b"\n"):
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        continue
                    parsed = json.loads(data)
                    kind = parsed.get("type")  # the Responses API's typed events
                    if kind == "response.output_text.delta" and parsed["delta"]:
                        times.append(now - start)
                        content.append(parsed["delta"])
                    done = done or kind == "response.completed"
                    for choice in parsed.get("choices", []):
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            times.append(now - start)
                            content.append(text)
        if status != 200:
            raise HttpError(f"HTTP {status}")
    finally:
        await conn.close()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return {"ttft": times[0] if times else None, "gaps": gaps, "chunks": len(times),
            "content": "".join(content), "done": done}


async def run_stream(cmd: dict[str, Any]) -> dict[str, Any]:
    """``streams`` streaming requests, ``concurrency`` at a time; TTFT and chunk gaps."""
    port = cmd["port"]
    request = requests_of(cmd)[0]
    semaphore = asyncio.Semaphore(cmd["concurrency"])

    async def guarded() -> dict[str, Any]:
        async with semaphore:
            try:
                return await one_stream(port, request)
            except (HttpError, asyncio.IncompleteReadError, ValueError, OSError) as exc:
                return {"error": str(exc)[:300]}

    results = await asyncio.gather(*(guarded() for _ in range(cmd["streams"])))
    ok = [r for r in results if "error" not in r]
    expect = cmd.get("expect")
    return {
        "ttft": [r["ttft"] for r in ok if r["ttft"] is not None],
        "gaps": [g for r in ok for g in r["gaps"]],
        "chunks": [r["chunks"] for r in ok],
        "done": sum(r["done"] for r in ok),
        "content_ok": sum(expect is None or r["content"] == expect for r in ok),
        "errors": len(results) - len(ok),
        "first_error": next((r["error"] for r in results if "error" in r), None),
    }


OPS = {"latency": run_latency, "stream": run_stream, "ready": run_ready}


async def serve_stdin() -> None:
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        result = await OPS[cmd["op"]](cmd)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


class LoadGenerator:
    """The driver's handle on a load generator process (``with LoadGenerator() as lg``)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.loadgen"], cwd=REPO, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )

    def run(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the load generator died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    asyncio.run(serve_stdin())
