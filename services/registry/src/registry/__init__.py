"""The registry: the twelve networks, their agreements, committees, offices and fields of action.

Read it like a book: `domain/` (the rules), `service_layer/` (the use cases), `adapters/`
(MongoDB), `entrypoints/` (HTTP API, seed command), `bootstrap.py` (where it is wired).
"""
