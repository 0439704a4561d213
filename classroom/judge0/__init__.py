"""A Judge0 CE compatible API (``/judge0``) over the run service: Judge0's clients work unchanged against it.

Its own feature package above ``runs/`` (it uses the run service, auth and the core only): ``routes.py`` the HTTP
API, ``service.py`` reading submissions and answering in Judge0's terms, ``schemas.py`` its bodies,
``callbacks.py`` the signed ``callback_url`` sender (a component). The Piston API (:mod:`classroom.piston`) is a
sibling with no code shared beyond ``runs/``: two wire protocols, each in its own package.
"""
