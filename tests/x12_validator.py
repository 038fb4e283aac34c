"""Validate an X12 835 with pyx12 (the open-source X12 validator), as a clearinghouse would.

Every 835 the tests produce goes through ``assert_valid_835``: pyx12 4.0.0 checks it
against the 005010X221A1 map (segments, loops, usage, code values, counts) and the helper
fails the test with every error pyx12 logged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pyx12.params
import pyx12.x12n_document


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _pyx12_log() -> Iterator[_Collect]:
    logger = logging.getLogger("pyx12")
    handler = _Collect()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def validate_835(text: str) -> tuple[bool, list[str]]:
    """(valid, the errors and warnings pyx12 logged) for an 835's text."""
    params = pyx12.params.params()
    with _pyx12_log() as log:
        valid = pyx12.x12n_document.x12n_document(
            param=params,
            src_file=io.StringIO(text),
            # No 999 acknowledgement: pyx12 builds its AK2 from ST03, which the 835 guide
            # marks not used (pyx12's x12valid logs "Failed to create 999 response" for
            # every 835 without ST03, and still reports it OK).
            fd_997=None,
            fd_html=None,
        )
    return bool(valid), log.messages


def assert_valid_835(text: str) -> None:
    valid, messages = validate_835(text)
    assert valid and not messages, "pyx12 rejects the 835:\n" + "\n".join(messages)
