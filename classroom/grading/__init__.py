"""Grading: checks of a room's files against its lesson's hidden tests, the gradebook, a student's own scores.

A check is a run of kind ``grade`` (:mod:`classroom.runs`): same queue, slots, sandboxes and limits; the hidden
tests are run by the box's init apart from the student's program (:mod:`execution._grader`). Public face:
:func:`routes`.
"""

from classroom.grading.routes import routes

__all__ = ["routes"]
