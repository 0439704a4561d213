"""A Piston v2 compatible API (``/piston``) over the run service: Piston's clients work unchanged against it.

A sibling of :mod:`classroom.judge0` above ``runs/``: ``routes.py`` the HTTP and WebSocket API, ``service.py``
reading requests and answering in Piston's terms, ``schemas.py`` its bodies.
"""
