"""Errors storage code raises for its callers to act on."""


class Conflict(Exception):
    """Another transaction changed the row first; retrying the whole unit of work is safe."""
