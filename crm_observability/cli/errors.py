"""The one error type the CLI turns into a one-line message and exit status 2."""

from __future__ import annotations


class UsageError(Exception):
    """Unusable input: the message names the file, the field and the reason."""
