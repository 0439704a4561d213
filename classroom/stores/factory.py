"""The stores' factory the edge hands to the actors: a database URL that opens the piccolo stores where it lands.

It crosses into Ray as an actor's constructor argument (a frozen dataclass pickles as its class name and URL), and
in the actor's worker process :meth:`PiccoloStores.open_session_store` / :meth:`~PiccoloStores.open_analytics_store`
build the engine, bind the tables to it and open its pool. Binding globally is safe there because the process is
the actor's own; the web process never opens a factory (it binds its own engine at start-up and uses the stores
directly).
"""

from __future__ import annotations

from dataclasses import dataclass

from classroom import db
from classroom.stores.analytics_store import PiccoloAnalyticsStore
from classroom.stores.session_store import PiccoloSessionStore


@dataclass(frozen=True)
class PiccoloStores:
    """:class:`~actors.session_store.SessionStoreFactory` and :class:`~actors.analytics_store.AnalyticsStoreFactory`
    on the database at ``database_url`` (``sqlite:///PATH`` or ``postgres://...``).

    Open it once per process (an actor does, on its first call): each open binds a new engine.
    """

    database_url: str

    async def open_session_store(self) -> PiccoloSessionStore:
        await self._bind()
        return PiccoloSessionStore()

    async def open_analytics_store(self) -> PiccoloAnalyticsStore:
        await self._bind()
        return PiccoloAnalyticsStore()

    async def _bind(self) -> None:
        engine = db.engine_from_url(self.database_url)
        db.bind(engine)
        await db.start(engine)
