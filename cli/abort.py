"""One way to fail: every `claims` error is one stderr line.

- ``ClaimsAbort``: any ``ClaimsError`` becomes ``error: <message> (hint: <hint>)`` and exit
  status 1.
- ``OneLineUsageError``: a usage error (bad option, missing argument, bad value) becomes the
  same one line, with a hint to the command's ``--help``, and exit status 2.
- ``one_way_to_abort``: the context manager the command group runs everything in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from claimsengine.errors import ClaimsError, with_hint

__all__ = ["ClaimsAbort", "OneLineUsageError", "error_line", "one_way_to_abort"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(message: str, hint: str | None = None) -> str:
    """The single stderr line of a failure: ``error: <message> (hint: <hint>)``."""
    return "error: " + with_hint(_one_line(message), _one_line(hint) if hint else None)


class ClaimsAbort(click.ClickException):
    """A ``ClaimsError`` on its way out: one ``error:`` line on stderr, exit status 1."""

    exit_code = 1

    def __init__(self, error: ClaimsError) -> None:
        super().__init__(str(error))
        self.error = error

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(error_line(str(self.error), self.error.hint), file=file, err=file is None)


class OneLineUsageError(click.UsageError):
    """A usage error (bad option, missing argument, bad value) as one ``error:`` line, exit 2."""

    def __init__(self, message: str, ctx: click.Context | None = None) -> None:
        super().__init__(message, ctx)

    def show(self, file: IO[Any] | None = None) -> None:
        ctx = self.ctx
        while ctx is not None and ctx.command.hidden and ctx.parent is not None:
            ctx = ctx.parent  # `claims review 4` runs a hidden subcommand: point at review
        path = ctx.command_path if ctx is not None else "claims"
        click.echo(
            error_line(self.format_message(), f"see `{path} --help`"),
            file=file,
            err=file is None,
        )


@contextmanager
def one_way_to_abort() -> Iterator[None]:
    """Turn ``ClaimsError`` and click's usage errors into their one-line forms."""
    try:
        yield
    except ClaimsError as error:
        raise ClaimsAbort(error) from error
    except (OneLineUsageError, click.exceptions.NoArgsIsHelpError):
        raise  # already one line; or a group called bare, which shows its help
    except click.UsageError as error:
        raise OneLineUsageError(error.format_message(), error.ctx) from error
