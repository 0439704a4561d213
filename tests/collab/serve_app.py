"""A runnable collab server for tests and the benchmark: Starlette + ``collab_endpoint`` + a token-dict authorize.

The authorize here is a stand-in for the accounts layer (auth is not what these tests are about): a token maps to
a user and their rooms (``writer`` or ``viewer``); an Origin header, when present, must be on the allowlist.

As a program (for the kill -9 durability test and the benchmark)::

    python tests/collab/serve_app.py --database sqlite:///PATH --grants grants.json [--port 0] [--redis URL]

prints ``PORT <n>`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from classroom.errors import Forbidden, Unauthenticated
from classroom.rooms.routes import Authorize, RoomAccess, collab_endpoint
from collab import RoomManager

ALLOWED_ORIGINS = frozenset({"http://localhost:8000", "https://classroom.example"})

# token -> {"user": id, "name": display name, "rooms": {room_id: "writer" | "viewer"}}
Grants = Mapping[str, Mapping[str, Any]]


def token_authorize(grants: Grants, origins: frozenset[str] = ALLOWED_ORIGINS) -> Authorize:
    async def authorize(websocket: WebSocket, room_id: str) -> RoomAccess:
        origin = websocket.headers.get("origin")
        if origin is not None and origin not in origins:
            raise Forbidden(f"origin {origin} is not allowed")
        token = websocket.query_params.get("token")
        grant = grants.get(token or "")
        if grant is None:
            raise Unauthenticated("a valid token is required")
        role = grant["rooms"].get(room_id)
        if role is None:
            raise Forbidden("not a member of this room")
        return RoomAccess(str(grant["user"]), str(grant["name"]), role == "writer")

    return authorize


def build_app(manager: RoomManager, grants: Grants) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager:
            # Everything imported so far lives forever: take it out of the collector's generations so that
            # full collections (a p99 latency spike of tens of ms otherwise) only walk the live rooms' objects.
            gc.freeze()
            yield

    route = WebSocketRoute("/collab/{room_id}", collab_endpoint(manager, token_authorize(grants)))
    return Starlette(routes=[route], lifespan=lifespan)


def listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def uvicorn_config(app: Starlette, ws: str = "auto") -> uvicorn.Config:
    # ws_max_size above the library's 1 MiB limit so that the library answers oversize frames with 1009.
    # No permessage-deflate: its zlib state costs ~50 KiB per connection and y-protocol frames are tiny
    # (the reference Node server does not compress either).
    return uvicorn.Config(
        app, log_level="warning", ws_max_size=2 * 1024 * 1024, ws_per_message_deflate=False, lifespan="on", ws=ws
    )


async def _main(args: argparse.Namespace, grants: Grants) -> None:
    from classroom import db
    from classroom.rooms.store import PiccoloDocumentStore
    from collab import MemoryStore, RedisBus

    engine = db.engine_from_url(args.database)
    await db.migrate(engine)
    await db.start(engine)
    bus = RedisBus(args.redis) if args.redis else None
    store = MemoryStore() if args.memory_store else PiccoloDocumentStore(engine)
    manager = RoomManager(store, bus=bus)
    sock = listening_socket(args.port)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await uvicorn.Server(uvicorn_config(build_app(manager, grants), args.ws)).serve(sockets=[sock])
    await db.stop(engine)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--grants", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis", default=None)
    parser.add_argument("--ws", default="auto", help="uvicorn's WebSocket implementation")
    parser.add_argument("--memory-store", action="store_true", help="keep documents in memory only")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="as uvicorn.run's 'auto'")
    arguments = parser.parse_args()
    main = _main(arguments, json.loads(Path(arguments.grants).read_text()))
    if arguments.loop == "uvloop":
        import uvloop  # what production gets: uvicorn.run(loop="auto") picks uvloop when it is installed

        uvloop.run(main)
    else:
        asyncio.run(main)
    sys.exit(0)
