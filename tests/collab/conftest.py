"""Fixtures of the collab tests. The helpers live in :mod:`collab_harness`: test modules import them from there,
never from ``conftest`` (a name every test folder has, ambiguous once the whole suite is collected)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collab_harness import node_modules

__all__ = ["node_modules"]
