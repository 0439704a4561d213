"""``GET /metrics``: Prometheus text with the run, slot and collaboration figures; readable by operators only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from classroom.app import create_app
from classroom.settings import load_settings

pytestmark = pytest.mark.anyio
TOKEN = "metrics-admin-token-0123456789abcdef"


def app_for(tmp_path: Path, **extra: str):  # type: ignore[no-untyped-def]
    env = {"CLASSROOM_DATA_DIR": str(tmp_path), "CLASSROOM_START_RAY": "false", **extra}
    return create_app(load_settings(env, dotenv=None))


async def get(app, client: tuple[str, int], headers: dict[str, str] | None = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=client)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get("/metrics", headers=headers or {})


async def test_the_admin_token_reads_every_family(tmp_path: Path) -> None:
    app = app_for(tmp_path, CLASSROOM_ADMIN_TOKEN=TOKEN)
    response = await get(app, ("203.0.113.9", 5000), {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    for name in ("classroom_run_seconds", "classroom_queue_wait_seconds", "classroom_queue_depth", "classroom_rooms",
                 "classroom_connections", "classroom_flush_lag_seconds", "classroom_slots_free", "classroom_slots_busy",
                 "classroom_collab_messages", "classroom_warm_pool_hits"):  # fmt: skip
        assert name in families, name
    values = {s.name: s.value for f in text_string_to_metric_families(response.text) for s in f.samples}
    assert values["classroom_rooms"] == 0 and values["classroom_connections"] == 0


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
async def test_without_the_admin_token_it_is_401(tmp_path: Path, header: str | None) -> None:
    app = app_for(tmp_path, CLASSROOM_ADMIN_TOKEN=TOKEN)
    response = await get(app, ("127.0.0.1", 5000), {"Authorization": header} if header else {})
    assert response.status_code == 401 and "CLASSROOM_ADMIN_TOKEN" in response.json()["detail"]


async def test_with_no_admin_token_only_loopback_reads_it(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    assert (await get(app, ("127.0.0.1", 5000))).status_code == 200
    remote = await get(app, ("198.51.100.7", 5000))
    assert remote.status_code == 403 and "loopback" in remote.json()["detail"]


def test_run_observations_show_by_verdict() -> None:
    from classroom.metrics import Metrics

    found = Metrics()
    found.run_started(0.02)
    found.run_finished("ok", 0.4)
    found.run_finished("time_limit", 10.5)
    import asyncio

    text = asyncio.run(found.collect()).decode()
    assert 'classroom_run_seconds_count{verdict="ok"} 1.0' in text
    assert 'classroom_run_seconds_count{verdict="time_limit"} 1.0' in text
    assert "classroom_queue_wait_seconds_count 1.0" in text


async def test_the_grafana_dashboard_only_uses_metrics_the_server_exports(tmp_path: Path) -> None:
    import json
    import re

    app = app_for(tmp_path, CLASSROOM_ADMIN_TOKEN=TOKEN)
    response = await get(app, ("127.0.0.1", 5000), {"Authorization": f"Bearer {TOKEN}"})
    samples = {s.name for f in text_string_to_metric_families(response.text) for s in f.samples}
    histograms = ("classroom_run_seconds", "classroom_queue_wait_seconds")  # labelled: no sample until observed
    samples |= {f"{name}_{part}" for name in histograms for part in ("bucket", "count")}
    dashboard = json.loads((Path(__file__).parents[2] / "deploy/grafana/classroom-dashboard.json").read_text())
    used = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"classroom_\w+", t["expr"])}
    assert used and used <= samples, used - samples
