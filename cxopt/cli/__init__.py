"""The ``cxopt`` command."""

from cxopt.cli.app import app, main

__all__ = ["app", "main"]
