"""Analytics of run outcomes: error clusters, attempts, time between runs and stuck students.

A library of pure aggregation logic (no Ray, no Starlette); the analytics actor feeds it batches of outcomes.
"""
