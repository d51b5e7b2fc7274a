"""Errors of the Hub package."""

from __future__ import annotations


class HubStartError(Exception):
    """``codetutor up`` could not run the Hub (it exited, or never came up).

    Not the user's input: ``up`` reports it on one line and exits with status 1.
    """
