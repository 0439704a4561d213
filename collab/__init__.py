"""Collaborative rooms: Yjs documents served over the standard y-websocket protocol.

A room's document lives in the web process (keystrokes never go through Ray). This library imports neither
Ray nor Starlette: transports plug in through a small channel protocol and storage through one store interface.
"""
