"""The version of cxopt (one place; the package, the reports and ``cxopt --version`` read it)."""

__version__ = "0.4.0"
