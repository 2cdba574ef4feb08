"""Contracts and plumbing shared by the RBN services.

`rbn_shared.events` is the event contract (envelope, payload models, topics); the other modules
are plumbing: settings, logging, MongoDB and Kafka access, the outbox and idempotent consumption.
No service's domain rules live here.
"""
