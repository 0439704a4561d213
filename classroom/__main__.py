"""``python -m classroom`` is the ``classroom`` command."""

import sys

from classroom.cli import main

sys.exit(main())
