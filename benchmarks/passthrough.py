"""The baseline: a minimal aiohttp reverse proxy that forwards bytes and does nothing else.

What anonymize-proxy adds over the upstream is compared with what this adds: the part that
any Python aiohttp gateway pays (an HTTP server, an HTTP client, a hop) is in both.

    python -m benchmarks.passthrough --port 8102 --upstream http://127.0.0.1:8101/v1
"""

from __future__ import annotations

import argparse

import aiohttp
from aiohttp import web

FORWARDED = ("Content-Type", "Authorization")


def make_app(upstream: str) -> web.Application:
    base = upstream.rstrip("/")

    async def start_client(app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        app["client"] = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def stop_client(app: web.Application) -> None:
        await app["client"].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
        url = base + "/" + request.match_info["tail"]
        client: aiohttp.ClientSession = request.app["client"]
        async with client.post(url, data=body, headers=headers) as upstream_response:
            content_type = upstream_response.headers.get("Content-Type", "application/json")
            if content_type.startswith("text/event-stream"):
                response = web.StreamResponse(headers={"Content-Type": content_type,
                                                       "Cache-Control": "no-cache"})
                await response.prepare(request)
                async for piece in upstream_response.content.iter_any():
                    await response.write(piece)
                await response.write_eof()
                return response
            data = await upstream_response.read()
            return web.Response(body=data, status=upstream_response.status,
                                headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_post("/v1/{tail:.*}", forward)
    app.on_startup.append(start_client)
    app.on_cleanup.append(stop_client)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8101/v1")
    args = p.parse_args()
    web.run_app(make_app(args.upstream), host=args.host, port=args.port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
