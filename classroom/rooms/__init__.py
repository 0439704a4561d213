"""Rooms: the live collaborative documents of this web process and their WebSocket (``/collab/{room_id}``)."""
