"""Accounts: people and signing in (join, password, OIDC), who am I, API tokens, and the admin commands."""
