"""Presence: the open sockets of each user and class, and closing them on removal on every replica."""
