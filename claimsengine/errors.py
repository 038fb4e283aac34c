"""The exceptions of claimsengine: one root, ``ClaimsError``, and a subclass per domain.

Callers catch ``ClaimsError`` to handle any failure the engine reports on purpose; anything
else is a bug. Every message says what went wrong and, where it can, what to do about it
(``hint``), because the CLI prints them to users as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ChainError",
    "ClaimRejected",
    "ClaimsError",
    "ExportError",
    "InputError",
    "LedgerError",
    "MissingRole",
    "NotAuthorised",
    "NodeRequestError",
    "NonceTaken",
    "NotFound",
    "PlanError",
    "RecordError",
    "RpcError",
    "ScenarioError",
    "StateLocked",
    "SubmitInterrupted",
    "TransactionReverted",
    "VaultIntegrityError",
]

#: Bad rows of a file that one error lists in full (``InputError.of_rows``); the rest it counts.
ROWS_LISTED = 10


class ClaimsError(Exception):
    """The root of every error claimsengine raises on purpose.

    ``hint`` is an optional next step for the user ("quote the code in the YAML file").
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def explained(self) -> str:
        """The message with its location and its hint, as one text: ``... (hint: ...)``."""
        return with_hint(str(self), self.hint)

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default pickling drops; rebuild
        # from the instance dict so errors survive multiprocessing (pytest-xdist, workers).
        return (_rebuild, (type(self), self.args, self.__dict__))


def with_hint(text: str, hint: str | None) -> str:
    """``text (hint: hint)``, or the text alone: how every message shows its hint (not in
    ``__all__``, which lists the exceptions)."""
    return f"{text} (hint: {hint})" if hint else text


class InputError(ClaimsError):
    """Bad user input: a file, a record in it, or a field of that record.

    ``str()`` reads ``FILE: record RECORD: field FIELD: message``; parts that are not known
    are left out, so the user can find the exact spot to fix.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        record: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.record = record
        self.field = field
        # Exception.args feeds str(); keep it equal to the located message.
        self.args = (self._located(),)

    @classmethod
    def of_rows(cls, problems: Sequence[InputError], *, file: str, hint: str) -> InputError:
        """One error for every bad row of ``file``: the only one as it is; more, in one
        message, ``FILE: N rows are wrong: ...; ...`` (the first ``ROWS_LISTED``, then how
        many more), so that a user fixes them all before running the command again."""
        if len(problems) == 1:
            return problems[0]
        listed = [problem._located(file=False) for problem in problems[:ROWS_LISTED]]
        if len(problems) > ROWS_LISTED:
            listed.append(f"and {len(problems) - ROWS_LISTED} more")
        return cls(f"{len(problems)} rows are wrong: " + "; ".join(listed), file=file, hint=hint)

    def _where(self, *, file: bool = True) -> str | None:
        """The file part of the message (a subclass may add a line); without the file
        itself when ``file`` is false."""
        return self.file if file else None

    def _located(self, *, file: bool = True) -> str:
        parts: list[str] = []
        where = self._where(file=file)
        if where is not None:
            parts.append(where)
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        parts.append(self.message)
        return ": ".join(parts)

    def __str__(self) -> str:
        # Recomputed so that a caller who fills in file/record later gets them in the text.
        return self._located()


class PlanError(InputError):
    """A plan file (YAML) or plan dictionary is invalid."""


class RecordError(InputError):
    """A treatment record is invalid; it is set aside, the other records go on."""


class ScenarioError(InputError):
    """A scenario file that cannot be read or is invalid.

    ``str()`` reads ``FILE:LINE: field FIELD: message``: the line of the YAML mapping that
    holds the bad value, and the field path inside the file (list indexes from 0).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.line = line
        super().__init__(message, file=file, field=field, hint=hint)

    def _where(self, *, file: bool = True) -> str | None:
        if not file:
            return f"line {self.line}" if self.line else None
        if self.file is not None and self.line:
            return f"{self.file}:{self.line}"
        return self.file


class LedgerError(InputError):
    """A bad ledger file; ``str()`` reads ``FILE: line N: record R: field F: message``."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        record: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.line = line  # set first: InputError formats the message in __init__
        super().__init__(message, file=file, record=record, field=field, hint=hint)

    def _where(self, *, file: bool = True) -> str | None:
        parts = [] if self.file is None or not file else [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ": ".join(parts) if parts else None


class ClaimRejected(ClaimsError):
    """A claim-level reject (spec checks 3-4): nothing is recorded; fix the claim and resend.

    ``reason`` is the contract's reason, word for word; the message may add detail.
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        message = f"claim rejected: {reason}" + (f" ({detail})" if detail else "")
        super().__init__(message)
        self.reason = reason


class ExportError(ClaimsError):
    """An export that would not be correct (for instance an 835 that does not balance)
    is refused rather than written."""


class ChainError(ClaimsError):
    """The chain (embedded or JSON-RPC) could not do what was asked."""


class TransactionReverted(ChainError):
    """A transaction reverted; ``reason`` is the contract's revert string, word for word."""

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"transaction reverted: {reason}", hint=hint)
        self.reason = reason


class NotAuthorised(TransactionReverted):
    """The sender lacks the role the call needs (the contract said so)."""


class MissingRole(ClaimsError):
    """The acting account lacks the role an action needs in a plan, found before anything
    was sent (``Party.require``); the contract would refuse it with ``access: not authorised``.
    """

    def __init__(
        self, message: str, *, plan_id: str, role: str, account: str, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.plan_id = plan_id
        self.role = role
        self.account = account


class NotFound(ClaimsError):
    """A plan, claim, record or member that was asked for does not exist."""


class StateLocked(ChainError):
    """The chain state is held by another command (or is paused); try again later."""


class RpcError(ChainError):
    """A JSON-RPC node answered ``method`` with an error object (``code``, message, data).

    The JSON-RPC chain reads a revert out of it (chain/rpc.py); any other is a chain failure.
    """

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        self.method = method
        self.code = int(error.get("code", 0))
        self.rpc_message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.rpc_message} (code {self.code})")


class NonceTaken(ChainError):
    """Another process sending as the same account used this transaction's nonce first.

    The JSON-RPC chain catches it and sends the transaction again with a fresh nonce."""


class NodeRequestError(ChainError):
    """What `claims node` answers a JSON-RPC request with when it fails: a JSON-RPC error
    object's ``code``, message and ``data``."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class SubmitInterrupted(ChainError):
    """The chain failed for good during a run. ``report`` holds what was done before it
    (an ``orchestrator.SubmitReport``).

    Nothing is lost: the records in flight are ``prepared`` in the journal, and running the
    same command again finishes them (and never submits a record twice).
    """

    def __init__(self, message: str, *, report: Any, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class VaultIntegrityError(ClaimsError):
    """A vault entry was changed, damaged, or encrypted under another key."""


def _rebuild(cls: type[ClaimsError], args: tuple[Any, ...], state: dict[str, Any]) -> ClaimsError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
