"""The dashboard's rules over plain HTTP (no browser needed): read-only, escaped, loopback,
clear messages for bad input, and no key, no member view."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from claimsengine.cli.main import main
from tests.dashboard.conftest import PLAN, _serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PAGES = ("/", "/claims", "/claims/4", "/reviews", "/reconcile", "/members")


def fetch(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="ledger"; '
        f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def block_of(page: str) -> int:
    found = re.search(r"block (\d+)", page)
    assert found, "the footer names the block"
    return int(found.group(1))


def test_it_listens_on_loopback_by_default(dashboard_url: str) -> None:
    assert dashboard_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_html_without_script_or_outside_resources(
    dashboard_url: str, path: str
) -> None:
    status, headers, page = fetch(dashboard_url + path)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "no CDN, no network at run time"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/"), ("DELETE", "/claims"), ("POST", "/"), ("POST", "/reconcile/download"),
     ("PATCH", "/reconcile")],
)  # fmt: skip
def test_it_is_read_only(dashboard_url: str, method: str, path: str) -> None:
    status, headers, _ = fetch(dashboard_url + path, method=method, body=b"x")
    assert status == 405
    assert "POST" not in headers["Allow"] or path == "/reconcile"


def test_every_input_is_escaped(dashboard_url: str) -> None:
    evil = "<script>alert(1)</script>"
    query = urllib.parse.urlencode({"plan": evil, "provider": evil, "from": evil, "status": evil})
    status, _, page = fetch(f"{dashboard_url}/claims?{query}")
    assert status == 200
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    status, _, page = fetch(f"{dashboard_url}/members?plan={urllib.parse.quote(evil)}")
    assert evil not in page
    body, kind = multipart({"plan": PLAN}, '<img src=x onerror="alert(1)">.csv', b"nonsense\n")
    status, _, page = fetch(dashboard_url + "/reconcile", "POST", body, {"Content-Type": kind})
    assert status == 400
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.csv: line 1: the header has no" in page


def test_an_upload_is_never_written_anywhere(dashboard_url: str, dashboard_chain: Path) -> None:
    before = sorted(p.relative_to(dashboard_chain) for p in dashboard_chain.rglob("*"))
    _, _, page = fetch(dashboard_url + "/")
    block = block_of(page)
    ledger = (dashboard_chain / "ledger.csv").read_bytes()
    body, kind = multipart({"plan": PLAN}, "mine.csv", ledger)
    status, _, page = fetch(dashboard_url + "/reconcile", "POST", body, {"Content-Type": kind})
    assert status == 200  # urllib followed the 303 to the result page
    assert "mine.csv against SILVER-2027" in page
    assert block_of(page) == block
    after = sorted(p.relative_to(dashboard_chain) for p in dashboard_chain.rglob("*"))
    assert [p for p in after if p not in before and "chain" not in p.parts] == []


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/claims/999", 404, "There is no claim 999 on this chain."),
        (
            "/claims?from=2027-13-45&page=abc",
            200,
            "from: &#x27;2027-13-45&#x27; is not a calendar date",
        ),
        (
            "/reconcile?ledger=../../etc/passwd",
            400,
            "../../etc/passwd: is not a ledger CSV in the state folder",
        ),
        ("/reconcile?upload=gone", 400, "that upload is no longer kept here"),
        (
            "/reconcile/download?plan=SILVER-2027&ledger=ledger.csv&format=pdf",
            400,
            "unknown download format &#x27;pdf&#x27;",
        ),
        ("/nothing-here", 404, "there is no page /nothing-here"),
    ],
)
def test_bad_requests_get_a_clear_message(
    dashboard_url: str, path: str, status: int, words: str
) -> None:
    got, _, page = fetch(dashboard_url + path)
    assert got == status
    assert words in page
    assert "Traceback" not in page


def test_downloads_are_the_cli_exports(dashboard_url: str, dashboard_chain: Path) -> None:
    for fmt in ("csv", "fhir"):
        status, headers, text = fetch(
            f"{dashboard_url}/reconcile/download?plan={PLAN}&ledger=ledger.csv&format={fmt}"
        )
        assert status == 200
        assert "attachment" in headers["Content-Disposition"]
        expected = CliRunner().invoke(
            main,
            ["--state", str(dashboard_chain), "reconcile", PLAN, "--ledger",
             str(dashboard_chain / "ledger.csv"), "--format", fmt],
        )  # fmt: skip
        assert text == expected.stdout


def test_without_the_plan_key_the_members_view_says_why(
    dashboard_chain: Path, tmp_path: Path
) -> None:
    empty_keys = tmp_path / "keys"
    empty_keys.mkdir()
    for url in _serve(dashboard_chain, {"CLAIMS_KEYS_DIR": str(empty_keys)}):
        status, _, page = fetch(url + "/members?plan=SILVER-2027&member=M-0001")
        assert status == 200
        assert (
            "Member accumulators are not available here: this state folder has no "
            "pseudonym key for plan SILVER-2027." in page
        )
        assert "Only the insurer holds a plan&#x27;s key" in page
        assert 'id="accumulators"' not in page


def test_dashboard_help_and_bad_port() -> None:
    result = CliRunner().invoke(main, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "read-only" in result.output and "127.0.0.1" in result.output
    result = CliRunner().invoke(main, ["dashboard", "--port", "70000"])
    assert result.exit_code == 2
    assert result.output.startswith("error: Invalid value for '--port'")


def test_a_folder_without_a_chain_fails_with_one_line(tmp_path: Path) -> None:
    # A process of its own: the command runs an event loop, as it does from a terminal.
    claims = shutil.which("claims", path=str(Path(sys.executable).parent)) or "claims"
    result = subprocess.run(
        [claims, "--state", str(tmp_path / "none"), "dashboard", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no embedded chain in")
    assert len(result.stderr.strip().splitlines()) == 1


def test_commands_run_beside_it_and_the_pages_follow_the_chain(tmp_path: Path) -> None:
    # The dashboard holds the state folder only while it reads: `claims fund` runs while it
    # serves, and the plans page shows the new balance once the watcher has read the block.
    state = tmp_path / "insurer"
    for argv in (["init"], ["deploy", str(FIXTURES / "plans" / "silver.yaml")]):
        result = CliRunner().invoke(main, ["--state", str(state), *argv])
        assert result.exit_code == 0, result.output
    for url in _serve(state, {}):
        _, _, page = fetch(url + "/")
        assert "<dt>balance</dt><dd>0.00</dd>" in page
        result = CliRunner().invoke(main, ["--state", str(state), "fund", PLAN, "10.00"])
        assert result.exit_code == 0, result.output
        deadline = time.monotonic() + 60
        while "<dt>balance</dt><dd>10.00</dd>" not in page:
            assert time.monotonic() < deadline, "the page never showed the funding"
            time.sleep(0.5)
            _, _, page = fetch(url + "/")


def test_an_upload_past_the_limit_gets_a_message(dashboard_url: str) -> None:
    from claimsengine.dashboard.server import MAX_UPLOAD_BYTES

    body, kind = multipart({"plan": PLAN}, "huge.csv", b"x" * (MAX_UPLOAD_BYTES + 1))
    status, _, page = fetch(dashboard_url + "/reconcile", "POST", body, {"Content-Type": kind})
    assert status == 400
    assert "The ledger was not read: the upload is larger than 32 MB" in page
