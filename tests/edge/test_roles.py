"""Roles of a cluster deployment: the settings that pick them, refused combinations, the head's fixed port.

The roles running for real (head, workers, two edges in containers) are tested in tests/deploy/test_box.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from actors.cluster import EDGE_RESOURCE, HEAD_PORT, edge_node_command, head_command
from classroom.app import build_components
from classroom.errors import SettingsError
from classroom.settings import load_settings


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {"CLASSROOM_DATA_DIR": str(tmp_path), **{f"CLASSROOM_{k}": v for k, v in env.items()}}, dotenv=None
    )


def test_cluster_mode_needs_a_head_address(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="EXECUTION=cluster is not allowed without CLASSROOM_RAY_ADDRESS"):
        settings(tmp_path, EXECUTION="cluster")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("ray://head:10001", "Ray Client"), ("head", "HOST:PORT"), ("head:port", "HOST:PORT"), ("a b:1", "HOST:PORT")],
)
def test_bad_ray_addresses_are_refused(tmp_path: Path, raw: str, reason: str) -> None:
    with pytest.raises(SettingsError, match=reason):
        settings(tmp_path, RAY_ADDRESS=raw)


def test_bad_execution_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="expected one of local, cluster"):
        settings(tmp_path, EXECUTION="remote")


def test_a_cluster_edge_has_no_sandbox_component(tmp_path: Path) -> None:
    edge = settings(tmp_path, EXECUTION="cluster", RAY_ADDRESS="head:6379")
    names = [c.name for c in build_components(edge)]
    assert "sandbox" not in names and "ray" in names
    local = settings(tmp_path)
    assert "sandbox" in [c.name for c in build_components(local)]


def test_head_listens_on_the_documented_port_and_edges_offer_no_cpu() -> None:
    assert HEAD_PORT == 6379
    head = head_command()
    assert head[head.index("--port") + 1] == "6379" and head[head.index("--num-cpus") + 1] == "0"
    edge = edge_node_command("head:6379")
    assert edge[edge.index("--num-cpus") + 1] == "0" and EDGE_RESOURCE in edge[edge.index("--resources") + 1]
    assert "sandbox_slot" not in " ".join(edge)


def test_head_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "classroom", "head", "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 0 and "--port 6379" in done.stdout and "--head" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "classroom", "head", "--port", "70000"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--port=70000 is not allowed" in bad.stderr
