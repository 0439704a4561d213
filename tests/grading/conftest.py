"""Grading tests reuse the run pipeline's helpers (tests/actors) and the execution samples (tests/execution)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for helper_dir in (TESTS / "actors", TESTS / "execution"):
    if str(helper_dir) not in sys.path:
        sys.path.insert(0, str(helper_dir))
