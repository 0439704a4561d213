"""Sandboxes at the edge: the ``sandbox`` commands (image, self-test) and ``worker`` (a node that offers slots)."""
