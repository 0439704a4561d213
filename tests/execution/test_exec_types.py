from __future__ import annotations

import pytest

from execution import Limits, RunSpec
from execution.types import MiB


def test_limit_defaults_match_the_issue() -> None:
    lim = Limits()
    assert (lim.wall_seconds, lim.cpu_seconds, lim.memory_bytes, lim.pids) == (10, 5, 256 * MiB, 64)
    assert (lim.output_bytes, lim.file_size_bytes, lim.tmpfs_bytes) == (1 * MiB, 16 * MiB, 64 * MiB)
    assert not any("net" in f for f in Limits.__dataclass_fields__), "no request may turn the network on"


@pytest.mark.parametrize("bad", [{"wall_seconds": 0}, {"memory_bytes": 1024}, {"pids": 1}, {"cpu_seconds": -1}])
def test_bad_limits_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Limits(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.py", "a/../../x.py", "", ".", "a//b.py", "x\0.py", "./a.py"])
def test_file_paths_must_be_plain_relative(path: str) -> None:
    with pytest.raises(ValueError):
        RunSpec(files={path: "", "main.py": ""})


def test_entry_must_be_a_file() -> None:
    with pytest.raises(ValueError):
        RunSpec(files={"a.py": ""}, entry="main.py")
    assert RunSpec(files={"pkg/mod.py": "", "main.py": ""}).entry == "main.py"


def test_files_larger_than_the_tmpfs_are_refused() -> None:
    with pytest.raises(ValueError):
        RunSpec(files={"main.py": "x" * (2 * MiB)}, limits=Limits(tmpfs_bytes=MiB))
