"""Adapters to systems outside the station (the police platform's vehicle query …).

Each is an interface plus an HTTP adapter; simulators of the outside systems live in
``simulators/`` so everything runs and is tested offline.
"""
