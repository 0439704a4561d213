"""Ray actors: class sessions, the run dispatcher, execution slots and analytics.

Actors are plain classes, testable without Ray; ``ray.remote`` and every Ray option are applied in one module
(:mod:`actors.options`). This package wraps the libraries (``execution``, ``analytics``, ``collab``) and is
the only package besides the edge that imports Ray.
"""
