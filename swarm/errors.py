"""How errors reach the user: one line on stderr naming the problem, and an exit code.

Exit codes: 2 bad input or configuration, 3 unusable data or database, 4 an exchange or provider failed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from feeds.errors import BadDataError, BadRequestError, SourceError
from swarm.config import ConfigError


class UsageError(Exception):
    """The command line asks for something that cannot work."""


class StoreError(Exception):
    """The database cannot be used as a store (not ours, newer schema, unreadable); one line.

    Defined here rather than in swarm.store so that catching it does not import SQLAlchemy.
    """


EXIT_INPUT = 2
EXIT_DATA = 3
EXIT_SOURCE = 4


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn known errors into one line on stderr and a non-zero exit; no traceback."""
    try:
        yield
    except (UsageError, ConfigError, BadRequestError) as exc:
        _fail(exc, EXIT_INPUT)
    except (BadDataError, StoreError) as exc:
        _fail(exc, EXIT_DATA)
    except SourceError as exc:
        _fail(exc, EXIT_SOURCE)


def _fail(exc: Exception, code: int) -> None:
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)
