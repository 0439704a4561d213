"""Runs: the run API (submit, status, cancel, live stream) and the service that owns this process's dispatcher."""
