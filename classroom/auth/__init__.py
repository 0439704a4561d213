"""Auth: who is asking and what they may touch (credentials, request auth, access rules, revocations, limits).

Every other feature builds on it: cookies, JWTs and API tokens (``tokens``), passwords, the request and socket
checks (``service``), object-by-object access rules (``access``), sign-out revocations and rate limits.
"""
