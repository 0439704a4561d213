"""The edge of classroom: settings, app assembly, HTTP/WebSocket routes, auth, tables and the CLI.

This is the composition root. It builds the Starlette app from :class:`classroom.settings.Settings`, owns every
background resource through the app lifespan, and is the only place that maps typed errors of the libraries and
actors to HTTP status codes and WebSocket close codes.
"""

__version__ = "0.1.0"
