"""Fault points for crash tests: stop a submission run at an exact step, on purpose.

A test that kills ``claims submit`` after a wall-clock delay cannot know where the kill
lands. These points let it choose (FoundationDB's "buggify" and SQLite's test hooks are
the models). The orchestrator reaches them, in this order, around each atomic command
(the records left by an earlier run first, then each chunk of new records):

``after-prepare``
    Every record of the command is journaled ``prepared`` (and in the vault), and a batch
    of them has just been sent (or some were found already on the chain). The embedded
    chain has not committed: a kill here rolls the batch back; a node (JSON-RPC) has
    mined it. Reached at each progress step of a chunk, not while resuming.
``after-send``
    The chain has committed the command's transactions; the journal has not yet
    recorded their receipts: every row of the command is still ``prepared``.
``after-receipt``
    The journal has marked the command's claims ``submitted``; their results are not yet
    in the run's report, nor printed, nor the refused records quarantined.

``CLAIMS_TEST_FAULT=POINT:N`` makes the process SIGKILL itself the ``N``-th time (from 1)
it reaches ``POINT``; ``POINT:N:pause`` makes it stop itself (SIGSTOP) instead, after a
line ``fault: paused at POINT:N`` on stderr, so that a test can look at the state
while the process still holds it, then SIGKILL it or let it go on with SIGCONT.

The variable is read once, at import. Unset, ``reach`` returns at once and does nothing.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass

__all__ = ["AFTER_PREPARE", "AFTER_RECEIPT", "AFTER_SEND", "ENV", "POINTS", "reach"]

ENV = "CLAIMS_TEST_FAULT"
AFTER_PREPARE = "after-prepare"
AFTER_SEND = "after-send"
AFTER_RECEIPT = "after-receipt"
POINTS = (AFTER_PREPARE, AFTER_SEND, AFTER_RECEIPT)


@dataclass(frozen=True)
class _Fault:
    point: str
    nth: int
    pause: bool


def _parse(text: str) -> _Fault:
    """``POINT:N`` or ``POINT:N:pause``; anything else is refused, so that a typo in a
    test fails loudly instead of testing nothing."""
    parts = text.split(":")
    usage = f"{ENV}={text!r}: expected POINT:N or POINT:N:pause, POINT one of {', '.join(POINTS)}"
    if len(parts) not in (2, 3) or parts[0] not in POINTS or not parts[1].isdigit():
        raise ValueError(usage)
    if int(parts[1]) < 1 or (len(parts) == 3 and parts[2] != "pause"):
        raise ValueError(usage)
    return _Fault(parts[0], int(parts[1]), len(parts) == 3)


_ARMED: _Fault | None = _parse(os.environ[ENV]) if os.environ.get(ENV) else None
_reached: dict[str, int] = {}


def reach(point: str) -> None:
    """Mark that the run got to ``point``; stop here if the test asked for it."""
    if _ARMED is None or _ARMED.point != point:
        return
    count = _reached[point] = _reached.get(point, 0) + 1
    if count != _ARMED.nth:
        return
    if _ARMED.pause:
        sys.stdout.flush()
        print(f"fault: paused at {point}:{count}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
        return  # SIGCONT: carry on as if nothing happened
    os.kill(os.getpid(), signal.SIGKILL)
