"""The actors' stores on the database: the edge's implementations of the contracts in ``actors/*_store.py``.

:class:`PiccoloStores` is what the edge passes to the Ray actors (they open it in their own process); the web
process, whose tables are already bound, uses :class:`PiccoloSessionStore` and :class:`PiccoloAnalyticsStore`
directly for the in-process control plane, and hands :class:`PiccoloRunQueue` to its dispatcher.
"""

from classroom.stores.analytics_store import PiccoloAnalyticsStore
from classroom.stores.factory import PiccoloStores
from classroom.stores.run_queue import PiccoloRunQueue
from classroom.stores.session_store import PiccoloSessionStore

__all__ = ["PiccoloAnalyticsStore", "PiccoloRunQueue", "PiccoloSessionStore", "PiccoloStores"]
