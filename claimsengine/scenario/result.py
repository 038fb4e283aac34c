"""How a scenario went: each step's checks and failures, and JUnit XML for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsengine.money import format_cents
from claimsengine.scenario.model import Kind


@dataclass(frozen=True)
class Failure:
    """One failed check: ``<what>: expected X, got Y``, and the YAML line that states it."""

    text: str
    line: int | None


@dataclass
class StepResult:
    """How one step went. ``error`` is an error the step raised that no expectation asked
    for; ``failures`` are the checks that did not hold."""

    number: int
    line: int | None
    title: str
    checks: int = 0
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None and not self.skipped

    def messages(self, source: str) -> list[str]:
        """``step N: <what>: expected X, got Y (FILE:LINE)`` for each failure."""
        problems = list(self.failures)
        if self.error is not None:
            problems.insert(0, Failure(f"unexpected error: {self.error}", self.line))
        return [
            f"step {self.number}: {p.text} ({source}:{p.line or self.line or '?'})"
            for p in problems
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "line": self.line,
            "title": self.title,
            "passed": self.passed,
            "skipped": self.skipped,
            "checks": self.checks,
            "error": self.error,
            "failures": [{"failure": f.text, "line": f.line} for f in self.failures],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScenarioResult:
    """One scenario file's run: every step's result, or why it could not run at all."""

    file: str
    name: str
    steps: list[StepResult] = field(default_factory=list)
    load_error: str | None = None
    setup_error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return (
            self.load_error is None
            and self.setup_error is None
            and all(step.passed for step in self.steps)
        )

    @property
    def checks(self) -> int:
        return sum(step.checks for step in self.steps)

    @property
    def failed_steps(self) -> int:
        return sum(1 for step in self.steps if not step.passed and not step.skipped)

    def messages(self) -> list[str]:
        """Every failure, one line each: ``step N: <what>: expected X, got Y (FILE:LINE)``."""
        if self.load_error is not None:
            return [self.load_error]
        out = [f"setup: {self.setup_error} ({self.file})"] if self.setup_error else []
        for step in self.steps:
            if not step.skipped:
                out.extend(step.messages(self.file))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "steps": len(self.steps),
            "checks": self.checks,
            "failures": self.messages(),
            "seconds": round(self.seconds, 3),
            "step_results": [step.to_json() for step in self.steps],
        }


class Checks:
    """Counts checks and collects ``<what>: expected X, got Y`` for those that fail."""

    def __init__(self) -> None:
        self.count = 0
        self.failures: list[Failure] = []

    def compare(self, what: str, kind: Kind, expected: Any, actual: Any, line: int | None) -> None:
        self.count += 1
        if expected != actual:
            text = f"{what}: expected {_show(kind, expected)}, got {_show(kind, actual)}"
            self.failures.append(Failure(text, line))

    def fail(self, what: str, message: str, line: int | None) -> None:
        self.count += 1
        self.failures.append(Failure(f"{what}: {message}", line))


def _show(kind: Kind, value: Any) -> str:
    if value is None:
        return "nothing"
    if kind == "amount":
        return format_cents(value)
    if kind == "flag":
        return "true" if value else "false"
    if kind == "codes":
        return json.dumps(list(value))
    return str(value)


def junit_xml(results: Sequence[ScenarioResult]) -> str:
    """JUnit XML for CI: one ``testsuite`` per scenario file, one ``testcase`` per step.

    A step whose expectations failed has a ``failure`` that lists them all; a step that
    raised an error nobody expected has an ``error``; steps after a failed setup are
    ``skipped``. A file that does not load, or a setup that fails, is a testcase of its own
    (``load`` / ``setup``) with an ``error``.
    """
    root = ET.Element("testsuites", name="claims simulate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        counts = _suite(root, result)
        for key, value in counts.items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.seconds for r in results):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(root: ET.Element, result: ScenarioResult) -> dict[str, int]:
    """One scenario file's ``testsuite``; returns its counts."""
    suite = ET.SubElement(root, "testsuite", name=result.name, file=result.file)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    classname = f"simulate.{Path(result.file).stem}"
    if result.load_error is not None or result.setup_error is not None:
        kind = "load" if result.load_error is not None else "setup"
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=kind, file=result.file, time="0"
        )
        message = result.load_error or result.setup_error or ""
        error = ET.SubElement(case, "error", message=message, type="ScenarioError")
        error.text = message
        counts["tests"] += 1
        counts["errors"] += 1
    for step in result.steps:
        counts["tests"] += 1
        outcome = _testcase(suite, classname, result.file, step)
        if outcome is not None:
            counts[outcome] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{result.seconds:.3f}")
    return counts


def _testcase(suite: ET.Element, classname: str, file: str, step: StepResult) -> str | None:
    """One step's ``testcase``; returns which count it adds to, beyond ``tests``."""
    attributes = {
        "classname": classname,
        "name": f"step {step.number}: {step.title}",
        "file": file,
        "time": f"{step.seconds:.3f}",
    }
    if step.line is not None:
        attributes["line"] = str(step.line)
    case = ET.SubElement(suite, "testcase", attributes)
    messages = step.messages(file)
    if step.skipped:
        ET.SubElement(case, "skipped", message="setup failed")
        return "skipped"
    if step.error is not None:
        error = ET.SubElement(case, "error", message=messages[0], type="ClaimsError")
        error.text = "\n".join(messages)
        return "errors"
    if messages:
        failure = ET.SubElement(case, "failure", message=messages[0], type="ExpectationFailed")
        failure.text = "\n".join(messages)
        return "failures"
    return None
