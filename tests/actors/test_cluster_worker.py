"""``classroom worker``: the one command that adds execution capacity on another node."""

from __future__ import annotations

import pytest

from classroom.cli import main


def test_worker_wraps_ray_start_with_sandbox_slots(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--address", "10.0.0.5:6379", "--slots", "3", "--dry-run", "--block"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith("ray start --address 10.0.0.5:6379 --resources '{\"sandbox_slot\": 3}' --block")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--address", "head", "--slots", "2"], "--address='head' is not allowed"),
        (["--address", "head:6379", "--slots", "0"], "--slots=0 is not allowed"),
    ],
)
def test_worker_refuses_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", *argv, "--dry-run"]) == 2
    assert message in capsys.readouterr().err
