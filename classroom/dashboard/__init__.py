"""The instructor's dashboard: the class's analytics merged with its exercises, pushed live over a WebSocket.

Public face: :func:`routes`.
"""

from classroom.dashboard.routes import routes

__all__ = ["routes"]
