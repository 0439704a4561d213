"""The built front end as a browser gets it: precompressed by Accept-Encoding, cached forever, no public maps."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from classroom import pages
from classroom.assets import accepted

pytestmark = pytest.mark.anyio
DIST = pages.DIST


def built() -> None:
    if not (DIST / "manifest.json").exists():
        pytest.fail("the front end is not built: run `npm run build` in web/ (make test does)")


async def client_for(source_maps: bool) -> httpx.AsyncClient:
    app = Starlette(routes=pages.routes(DIST, source_maps=source_maps))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    built()
    async with await client_for(False) as c:
        yield c


async def raw(client: httpx.AsyncClient, path: str, encoding: str) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


async def room_script(client: httpx.AsyncClient) -> str:
    page = await client.get("/rooms/some-room")
    assert page.status_code == 200
    match = re.search(r'<script type="module" src="(/assets/[^"]+\.js)"', page.text)
    assert match, page.text
    return match.group(1)


async def test_room_page_script_arrives_brotli_or_gzip_by_accept_encoding(client: httpx.AsyncClient) -> None:
    script = await room_script(client)
    plain_file = (DIST / script.removeprefix("/assets/")).read_bytes()

    response, body = await raw(client, script, "gzip, deflate, br")
    assert response.headers["content-encoding"] == "br"
    assert response.headers["vary"] == "Accept-Encoding"
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-type"].startswith("text/javascript")
    assert body == (DIST / (script.removeprefix("/assets/") + ".br")).read_bytes()
    assert len(body) < len(plain_file) / 3

    response, body = await raw(client, script, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain_file

    response, body = await raw(client, script, "br;q=0, gzip;q=0")
    assert "content-encoding" not in response.headers and body == plain_file
    assert b"sourceMappingURL" not in plain_file


def test_every_built_script_and_stylesheet_has_both_variants() -> None:
    built()
    files = [p for p in DIST.rglob("*") if p.suffix in (".js", ".css")]
    assert files
    for path in files:
        assert gzip.decompress(Path(f"{path}.gz").read_bytes()) == path.read_bytes(), path
        assert Path(f"{path}.br").stat().st_size > 0, path


async def test_source_maps_and_build_files_are_not_public_by_default(client: httpx.AsyncClient) -> None:
    script = await room_script(client)
    assert (DIST / (script.removeprefix("/assets/") + ".map")).exists()
    for path in (f"{script}.map", f"{script}.gz", f"{script}.br", "/assets/manifest.json", "/assets/meta.json"):
        assert (await client.get(path)).status_code == 404, path
    assert "sourcemap" not in (await client.get(script)).headers


async def test_source_maps_are_served_when_turned_on() -> None:
    built()
    async with await client_for(True) as c:
        script = await room_script(c)
        response = await c.get(script, headers={"Accept-Encoding": "gzip"})
        name = script.rsplit("/", 1)[1]
        assert response.headers["sourcemap"] == f"{name}.map"
        mapped = await c.get(f"{script}.map")
        assert mapped.status_code == 200 and '"sources"' in mapped.text


def test_accept_encoding_parsing() -> None:
    assert accepted("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert accepted("br;q=0, gzip;q=0.5") == {"gzip"}
    assert accepted("") == set() and accepted("identity") == {"identity"}
    assert accepted("gzip;q=x") == set()
