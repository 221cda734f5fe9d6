"""One line for every failure.

A tap that stops on an error logs one ERROR line naming the cause (and, where the
tap knows it, the fix) and exits with status 1; the traceback is logged only when
the log level is DEBUG (``meltano --log-level=debug ...``, or ``LOGLEVEL=debug`` when
the tap runs on its own). The SDK logs the traceback of anything that leaves its
command; :class:`OneLineFailures` gives the tap a command that catches it first,
including failures inside ``--test`` and ``--discover``, which run before the SDK's
own handler is in place.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError
from singer_sdk.plugin_base import SingerCommand
from typing_extensions import override

from mailtaps_common.bases import TapMixin

DEBUG_HINT = "(LOGLEVEL=debug shows the traceback)"
# The SDK logs this at ERROR before the exception reaches the command; the stream's
# name adds nothing the failure line does not say, so it shows only when debugging.
SDK_STREAM_FAILED = "An unhandled error occurred while syncing '%s'"


def failure_lines(exception: BaseException) -> list[str]:
    """The lines a user sees for ``exception``: one per bad setting for a config
    error (``mailtaps_common.config`` words them), else one.

    The taps' own errors (``FatalAPIError`` and its subclasses) already say what
    failed and what to check; anything else is unexpected, so the line names its
    type and where to find more.
    """
    if isinstance(exception, ConfigValidationError) and exception.errors:
        lines = [" ".join(str(error).split()) for error in exception.errors]
        if len(lines) > 1:  # the last line alone names them all (Meltano shows only that one)
            names = re.findall(r"setting '([^']+)'", " ".join(lines))
            lines.append(f"invalid configuration: {len(lines)} settings to fix: {', '.join(names)}")
        return lines
    return [failure_line(exception)]


def failure_line(exception: BaseException) -> str:
    text = " ".join(str(exception).split())
    if isinstance(exception, FatalAPIError):
        return text or type(exception).__name__
    detail = f"{type(exception).__name__}: {text}" if text else type(exception).__name__
    return f"{detail} {DEBUG_HINT}"


def exit_with_one_line(exception: BaseException, logger: logging.Logger) -> NoReturn:
    for line in failure_lines(exception):
        logger.error("%s", line)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("Traceback of the failure above", exc_info=exception)
    sys.exit(1)


def _not_sdk_stream_failed(record: logging.LogRecord) -> bool:
    return record.msg != SDK_STREAM_FAILED or logging.getLogger().isEnabledFor(logging.DEBUG)


def _config_errors_end_the_run(
    callback: Callable[..., Any], logger: logging.Logger
) -> Callable[..., Any]:
    """``callback`` with a config error ending the run in :func:`failure_lines`, before
    the SDK's handler adds ``Config validation failed`` (the whole schema, in JSON logs)
    as the last line: the only line ``meltano config test`` shows."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except ConfigValidationError as exc:
            exit_with_one_line(exc, logger)

    return run


class OneLineCommand(SingerCommand):
    """The SDK's command, with any exception ending in :func:`exit_with_one_line`."""

    @override
    def main(self, *args: Any, **kwargs: Any) -> Any:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_sdk_stream_failed)
        try:
            return super().main(*args, **kwargs)
        except Exception as exc:
            exit_with_one_line(exc, self.logger)


class OneLineFailures(TapMixin):
    """Mix into a ``Tap`` (before it): its console script then fails with one line."""

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        return OneLineCommand(
            name=command.name,
            callback=command.callback and _config_errors_end_the_run(command.callback, cls.logger),
            params=command.params,
            help=command.help,
            context_settings=command.context_settings,
            logger=cls.logger,
        )
