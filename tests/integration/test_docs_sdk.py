"""The SDK page's code runs as written, and prints what the page says it prints."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "sdk.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_sdk_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAIMS_KEYS_DIR", str(tmp_path / "keys"))
    outputs = []
    for block in _blocks():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(PAGE), "exec"), {"__name__": "docs"})
        outputs.append(out.getvalue())
    assert len(outputs) == 5
    assert outputs[1] == "1 paid 9500\n"
    assert outputs[2] == "['45', '3']\n25.00\n"
    assert outputs[3] == "1 4 2 0\n"
    assert outputs[4] == "2 paid 1 2\nvoided\n"
    assert os.path.isdir(tmp_path / ".claims")
