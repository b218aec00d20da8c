"""``python -m cxopt``: the same as the ``cxopt`` command."""

from cxopt.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
