"""`clipscale demo`: not implemented yet."""
from __future__ import annotations


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
