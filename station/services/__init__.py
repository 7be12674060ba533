"""Domain operations as plain functions.

Each takes a SQLAlchemy ``Session`` (the caller owns the transaction, see ``station.db``),
an ``Actor`` when it changes something, and a ``Clock`` when time matters. No Flask here:
the same functions serve the HTTP API, the CLI, scheduled jobs and the station-day simulator.
"""
