"""`kedro run` with the project's own expected errors printed as messages, not tracebacks.

A wrong parameter, a table that breaks its expectation suite or a missing input file is the
user's to fix: they need what is wrong, where and how to fix it, which the message says. The
two hundred lines of traceback frames Kedro prints above it are for bugs in the code.
`kedro run --verbose` (or ML_ON_AWS_TRACEBACK=1) shows them anyway: Kedro's own CLI has no
global verbose flag (only some of its commands take one), so `kedro run` gets its own.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import click

from ml_on_aws.core.config import UserFixableError, error_chain

TRACEBACK_VARIABLE = "ML_ON_AWS_TRACEBACK"


def user_fixable(exc: BaseException) -> UserFixableError | None:
    """The project's user-fixable error that caused ``exc``, if any (Kedro may wrap it)."""
    return next((error for error in error_chain(exc) if isinstance(error, UserFixableError)), None)


def with_short_errors(command: click.Command) -> click.Command:
    """A copy of ``command`` that ends with the message and exit code 1 on a user-fixable error."""
    callback = command.callback

    @functools.wraps(callback)
    def run_reporting_errors(*args: Any, verbose: bool = False, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except Exception as exc:
            error = user_fixable(exc)
            if error is None or verbose or os.environ.get(TRACEBACK_VARIABLE, "").lower() in ("1", "true", "yes"):
                raise
            raise click.ClickException(
                f"{type(error).__name__}: {error}\n(Run with --verbose or set {TRACEBACK_VARIABLE}=1 to see the traceback.)"
            ) from None

    verbose = click.Option(["--verbose", "-v"], is_flag=True, help="Show the traceback of errors, also of those "
                           "that are a configuration or data to fix (printed as a short message otherwise).")
    return click.Command(
        name=command.name, params=[*command.params, verbose], callback=run_reporting_errors, help=command.help,
        short_help=command.short_help, epilog=command.epilog, context_settings=command.context_settings,
    )


def kedro_run_with_short_errors() -> click.Command:
    from kedro.framework.cli.project import run

    return with_short_errors(run)
