"""Where the browser is missing: under CI the browser tests fail, elsewhere they skip and
say why (pytest run in a child process, with the browser pointed at a path that is not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_browser_test(ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAIMS_CHROMIUM": "/nonexistent/chromium", "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:xdist", "-p", "no:cacheprovider",
         "tests/dashboard/test_browser.py", "-k", "without_javascript"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("ci", ["", "false"])
def test_without_a_browser_the_tests_skip_with_the_reason(ci: str) -> None:
    result = run_browser_test(ci)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "no browser at /nonexistent/chromium: `make test` installs Debian's chromium" in (
        result.stdout
    )


def test_under_ci_a_missing_browser_fails() -> None:
    result = run_browser_test("true")
    assert result.returncode == 1, result.stdout
    assert "browser tests cannot run, and CI is set: no browser at /nonexistent/chromium" in (
        result.stdout
    )
