"""The map write on one pipelined connection: ``SET key blob EX ttl`` without a pool checkout.

Every proxied request writes its map once, before anything goes upstream, so this write is on
every request's critical path. redis-py spends about 50 us of CPU on one ``SET`` (pool
checkout, a task for the write timeout, its parser) where the round trip itself costs a
fraction of that. Here each ``SET`` is written to one shared connection as soon as it is
asked for, and the replies, which Redis sends in order, are matched to the waiting requests in
order: concurrent requests share the socket without waiting for each other.

Only plain TCP and unix-socket Redis take this path; ``rediss://`` and Cluster, and every
other command (``GET``, ``PING``), stay on redis-py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

# Retries of a write that met a broken connection (a restarted Redis, a closed idle socket);
# a SET of the same key and value is safe to repeat. Same pacing as the redis-py client.
_RETRY_DELAYS = (0.01, 0.02)


class RespError(Exception):
    """The connection failed or Redis refused the command. The message never holds a value."""


def pack(*parts: bytes) -> bytes:
    """One command in RESP: ``*n`` then ``$len`` and the bytes of each part."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Replies(asyncio.Protocol):
    """One connection: commands go out at once; each reply line settles the oldest waiter.

    Only simple replies (``+OK``) and errors (``-ERR ...``) are expected; anything else means
    the connection is out of step, and it is dropped.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[asyncio.Future[bytes]] = deque()
        self.lost = False
        self.last_reply = asyncio.get_running_loop().time()
        self._buffer = b""
        self._outgoing: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes) -> asyncio.Future[bytes]:
        """Send ``command``: at once on an idle connection (no wait at low load); while replies
        are outstanding, with every other command of this turn of the event loop in one write
        (one system call for all the requests that reached their write together)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        if not self._outgoing:
            if not self.waiters:
                self.waiters.append(waiter)
                self.transport.write(command)
                return waiter
            loop.call_soon(self._flush)
        self.waiters.append(waiter)
        self._outgoing.append(command)
        return waiter

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if not self.lost and self.transport is not None:
            self.transport.write(b"".join(outgoing))

    def data_received(self, data: bytes) -> None:
        self.last_reply = asyncio.get_running_loop().time()
        buffer = self._buffer + data if self._buffer else data
        start = 0
        while (end := buffer.find(b"\r\n", start)) >= 0:
            line = buffer[start:end]
            start = end + 2
            if line[:1] not in (b"+", b"-") or not self.waiters:
                self.drop()
                return
            waiter = self.waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled keeps its turn
                waiter.set_result(line)
        self._buffer = buffer[start:]

    def drop(self) -> None:
        """Abort the connection; its waiters fail now, not when the transport reports it."""
        self._fail_waiters()
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_waiters()

    def _fail_waiters(self) -> None:
        self.lost = True
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError("redis connection lost"))


class PipelinedSet:
    """``SET key value EX ttl`` on one lazily opened connection, with AUTH and SELECT.

    ``timeout`` bounds the connect and each reply; a connection that times out or breaks is
    dropped and the write retried on a new one (twice), then ``RespError`` is raised. A
    connection idle for ``idle_seconds`` is replaced before use (as redis-py's health check
    does): a firewall or load balancer may have cut it without a word.
    """

    def __init__(self, *, host: str = "localhost", port: int = 6379, path: str | None = None,
                 db: int = 0, username: str | None = None, password: str | None = None,
                 timeout: float = 2.0, idle_seconds: float = 30.0) -> None:
        self._host = host
        self._port = port
        self._path = path
        self._handshake = self._handshake_commands(db, username, password)
        self._timeout = timeout
        self._idle_seconds = idle_seconds
        self._replies: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    @staticmethod
    def _handshake_commands(db: int, username: str | None, password: str | None) -> list[bytes]:
        commands = []
        if username or password:  # as redis-py: AUTH [username] password
            user = [username.encode()] if username else []
            commands.append(pack(b"AUTH", *user, (password or "").encode()))
        if db:
            commands.append(pack(b"SELECT", str(db).encode()))
        return commands

    async def set(self, key: bytes, value: bytes, ttl_seconds: int) -> None:
        command = pack(b"SET", key, value, b"EX", str(ttl_seconds).encode())
        for delay in (*_RETRY_DELAYS, None):
            try:
                replies = self._open_replies() or await self._connect()
                reply = await self._wait(replies, [replies.send(command)])
            except (ConnectionError, OSError, TimeoutError) as exc:
                if delay is None:
                    raise RespError(f"redis SET failed: {type(exc).__name__}") from None
                await asyncio.sleep(delay)
                continue
            if reply[0] != b"+OK":
                raise RespError(f"redis SET failed: {_error_kind(reply[0])}")
            return

    def _open_replies(self) -> _Replies | None:
        replies = self._replies
        if (replies is None or replies.lost or replies.transport is None
                or replies.transport.is_closing()  # writes to it would be dropped
                or self._loop is not asyncio.get_running_loop()):
            return None
        if not replies.waiters and self._loop.time() - replies.last_reply > self._idle_seconds:
            replies.drop()
            return None
        return replies

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._connecting is None or self._loop is not loop:
            # A new event loop (tests run one per test): the old connection belongs to the old.
            self._connecting = asyncio.Lock()
            self._replies = None
            self._loop = loop
        async with self._connecting:
            if (ready := self._open_replies()) is not None:
                return ready
            async with asyncio.timeout(self._timeout):
                if self._path:
                    _, replies = await loop.create_unix_connection(_Replies, self._path)
                else:
                    _, replies = await loop.create_connection(_Replies, self._host, self._port)
            if self._handshake:
                answers = await self._wait(replies, [replies.send(c) for c in self._handshake])
                refused = [a for a in answers if a != b"+OK"]
                if refused:
                    replies.drop()
                    raise RespError(f"redis handshake failed: {_error_kind(refused[0])}")
            self._replies = replies
            return replies

    async def _wait(self, replies: _Replies,
                    waiters: Sequence[asyncio.Future[bytes]]) -> list[bytes]:
        """The replies of ``waiters``; on timeout the connection is dropped (later replies
        could no longer be matched safely) and ``TimeoutError`` raised."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self._timeout, _expire, replies, waiters)
        try:
            return [await waiter for waiter in waiters]
        finally:
            timer.cancel()
            for waiter in waiters:  # the handshake's second reply after the first failed
                if waiter.done() and not waiter.cancelled():
                    waiter.exception()  # retrieved: no "never retrieved" warning at exit

    async def close(self) -> None:
        replies, self._replies = self._replies, None
        if replies is not None and not replies.lost and replies.transport is not None:
            replies.lost = True
            replies.transport.close()


def _expire(replies: _Replies, waiters: Sequence[asyncio.Future[bytes]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_exception(TimeoutError())
    replies.drop()


def _error_kind(reply: bytes) -> str:
    """``-WRONGPASS invalid ...`` -> ``WRONGPASS``: the error's code, never more."""
    word = reply[1:].split(b" ", 1)[0].decode("ascii", "replace")
    return word if word.isalnum() and word.isupper() else "unexpected reply"
