"""The pure core: who gets which mail, the delivery's life, preferences, the district report.

Nothing here does I/O: no database, no broker, no SMTP, no web framework.
"""
