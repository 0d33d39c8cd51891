"""Keeps the bot token out of every log line (httpx and python-telegram-bot log URLs with it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator


class TokenFilter(logging.Filter):
    """Removes the bot token from log records: message, arguments and exception text.

    httpx logs request URLs (which contain the token) and python-telegram-bot logs its
    URLs at DEBUG and puts the token in some error messages, so every record passing a
    handler this filter sits on is checked.
    """

    REDACTED = "<telegram-token>"
    LOGGERS = ("", "telegram", "httpx", "httpcore", "adapters")

    def __init__(self, token: str) -> None:
        super().__init__()
        secret = token.partition(":")[2]
        self.secrets = [value for value in (token, secret) if len(value) >= 8]

    def redact(self, value: str) -> str:
        """`value` with every occurrence of the token (or its secret half) replaced."""
        for secret in self.secrets:
            value = value.replace(secret, self.REDACTED)
        return value

    def leaks(self, value: str) -> bool:
        """Whether `value` contains the token's secret."""
        return any(secret in value for secret in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drop it.

        A record with arguments is formatted now: python-telegram-bot logs a dict it then
        changes (a file path gains the token), so a lazily formatted message could leak.
        """
        if record.args:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = f"{record.msg} {record.args!r}"
            record.msg, record.args = self.redact(message), ()
        elif self.leaks(str(record.msg)):
            record.msg = self.redact(str(record.msg))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _targets(self) -> Iterator[logging.Filterer]:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            yield logger
            yield from logger.handlers

    def install(self) -> None:
        """Sit on the root logger's handlers and the HTTP loggers; quiet httpx's URL lines."""
        for target in self._targets():
            if self not in target.filters:
                target.addFilter(self)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)

    def uninstall(self) -> None:
        """Take the filter off again."""
        for target in self._targets():
            target.removeFilter(self)
