"""Two worker nodes with a sandbox slot each (``ray.cluster_utils.Cluster``), run in a subprocess
(``cluster_scenario.py``) because this test process already holds the session's Ray connection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_runs_spread_over_nodes_and_survive_a_node_removed_mid_run() -> None:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("cluster_scenario.py"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["nodes_with_slots"] == 2
    assert result["spread_nodes"] == 2, result
    moved = result["moved_run"]
    assert (moved["verdict"], moved["stdout"], moved["attempts"]) == ("ok", "done\n", 2), result
    assert moved["final_node"] != result["victim_node_removed"]
    assert result["finished"] == result["submitted"] == 8
    assert result["recorded"] == [1] * 8  # every run recorded exactly once
