"""The class event channel's bus: one stream of class events per class, shared by every web replica.

Features publish what changed (``app.state.events.publish(class_id, event, audience)``); the class channel
(:mod:`classroom.console`) subscribes each open page's socket and filters what a student may see.
"""

from classroom.events.service import Audience, ClassEvents, Envelope

__all__ = ["Audience", "ClassEvents", "Envelope"]
