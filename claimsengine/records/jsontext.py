"""JSON with exact numbers: read without floats, written canonically.

Numbers are never floats: ``load_json_text`` reads them as ``int`` or ``Decimal``, and the
writers refuse floats. ``canonical_json`` is the byte form a record commitment hashes (see
the package docstring); changing it changes every commitment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

__all__ = ["canonical_json", "dump_json", "load_json_text"]


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python accepts them by default.
    raise ValueError(f"{name} is not valid JSON")


def load_json_text(text: str) -> Any:
    """Parse JSON text keeping every number exact: integers as ``int``, others as ``Decimal``.

    Floats are never produced, so 28.104000000000003 stays visible as written and is
    rejected later instead of being rounded.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


# ``json.dumps(text, ensure_ascii=False)`` is this function, behind an encoder built per call.
_string = encode_basestring


def _encode(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value.__class__ is str:
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as JSON")
        out.append(str(value))
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in records: use a Decimal or a string")
    elif isinstance(value, Mapping):
        keys = sorted(value)
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
        if not keys:
            out.append("{}")
            return
        out.append("{")
        colon = ":" if indent is None else ": "
        for position, key in enumerate(keys):
            if position:
                out.append(",")
            if indent is not None:
                _newline(out, indent, level + 1)
            out.append(_string(key))
            out.append(colon)
            item = value[key]
            if item.__class__ is str:  # the commonest value, without a call
                out.append(_string(item))
            else:
                _encode(item, out, indent, level + 1)
        _newline(out, indent, level)
        out.append("}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            if indent is not None:
                _newline(out, indent, level + 1)
            if item.__class__ is str:
                out.append(_string(item))
            else:
                _encode(item, out, indent, level + 1)
        _newline(out, indent, level)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _newline(out: list[str], indent: int | None, level: int) -> None:
    if indent is not None:
        out.append("\n" + " " * (indent * level))


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of a value: sorted keys, no whitespace, UTF-8.

    ``Decimal`` numbers are written as their exact text; floats are refused.
    """
    out: list[str] = []
    _encode(value, out, None, 0)
    return "".join(out).encode("utf-8")


def dump_json(value: Any, *, indent: int = 2) -> str:
    """Readable JSON with sorted keys that keeps ``Decimal`` numbers exact (for files)."""
    out: list[str] = []
    _encode(value, out, indent, 0)
    return "".join(out) + "\n"
