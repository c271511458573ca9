"""The error a user's mistake raises: the CLI prints its message and exits with code 2."""


class UsageError(Exception):
    """Bad input from the user (a wrong option, a missing or malformed file)."""
