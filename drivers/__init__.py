"""Device protocol code: ticket printers, LED displays, smoke meters, cameras.

Nothing here imports Flask or the database. Drivers are built from plain configuration
(dicts / URLs), talk through pyserial URLs, sockets or python-escpos connections, and
raise the typed errors of :mod:`drivers.errors`.
"""
