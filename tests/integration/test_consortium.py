"""docs/consortium.md, run: the insurer's `claims node`, hospitals on their own state folders.

Two kinds of process, as on two machines: `claims node` serves the insurer's chain, and
every party talks to it with `--rpc` from a state folder of its own. The insurer deploys,
enrols, registers the hospitals and seals the plan's key to each (`keys export`); each
hospital imports its bundle into an empty folder (`keys import`) and submits at once, in
separate `claims` processes. Every record lands exactly once, and each provider's token
balance grows by exactly what its claims were paid.
"""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from claimsengine.chain.anvil import AnvilNode
from claimsengine.chain.node import start_node
from tests.integration.test_cli_anvil import Cli
from tests.integration.test_cli_subprocess import CLAIMS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PLAN = "SILVER-2027"
HOSPITALS = {
    "HOSP-A": "hospital-1",
    "HOSP-B": "hospital-2",
    "HOSP-C": "hospital-3",
    "HOSP-D": "hospital-4",
}
MEMBERS = ("M-0001", "M-0002", "M-0004")  # covered all 2027 (fixtures/members.csv)

pytestmark = pytest.mark.skipif(CLAIMS is None, reason="the claims executable is not installed")


def office_visits(folder: Path, provider: str, *, first: int = 0, day: int = 10) -> Path:
    """One 99213 office visit per member on 2027-02-DAY, billed 180.00, as the provider's
    records (record ids from ``first`` + 1 on)."""
    folder.mkdir(parents=True)
    for n, member in enumerate(MEMBERS, start=first + 1):
        record = {
            "record_id": f"{provider}-2027-9{n:05d}",
            "plan_id": PLAN,
            "member_id": member,
            "provider_id": provider,
            "service_date": f"2027-02-{day:02d}",
            "prior_auth": None,
            "diagnoses": ["J06.9"],
            "lines": [{"code": "99213", "units": 1, "billed": "180.00"}],
        }
        (folder / f"{record['record_id']}.json").write_text(json.dumps(record))
    return folder


def claims_process(state: Path, url: str, *args: object) -> subprocess.Popen[str]:
    assert CLAIMS is not None
    argv = [CLAIMS, "--state", str(state), "--rpc", url, "--json", *map(str, args)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> Any:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, f"exit {process.returncode}: {err}"
    return json.loads(out)


def provider_tokens(state: Path, url: str) -> dict[str, Decimal]:
    """Each provider's settlement-token balance, in dollars."""
    from claimsengine.workspace import Workspace

    with Workspace.open(state, rpc=url) as workspace:
        token = workspace.dev_token
        scale = 10 ** (token.decimals() - 2)  # token units per cent
        return {
            provider: Decimal(token.balance_of(workspace.chain.address_of(account)) // scale) / 100
            for provider, account in HOSPITALS.items()
        }


def set_up_plan(insurer: Cli) -> None:
    insurer.json("deploy", FIXTURES / "plans" / "silver.yaml")
    insurer.json("enroll", PLAN, FIXTURES / "members.csv")
    for provider, account in HOSPITALS.items():
        insurer("provider", "add", PLAN, provider, "--account", account)
    insurer.json("fund", PLAN, "10000.00")
    if insurer.json("time", "show")["date"] < "2027-07-01":  # a shared anvil may be ahead
        insurer.json("time", "set", "2027-07-01")


def test_hospitals_on_their_own_folders_through_the_insurers_node(tmp_path: Path) -> None:
    with start_node(tmp_path / "insurer-node") as node:
        insurer = Cli(tmp_path / "insurer", node.url)
        set_up_plan(insurer)
        before = provider_tokens(tmp_path / "insurer", node.url)

        imports = {}
        for provider, account in HOSPITALS.items():
            bundle = tmp_path / f"{provider}.bundle.json"  # sealed: no plaintext key leaves
            exported = insurer.json("keys", "export", PLAN, "--to", account, "--out", bundle)
            assert exported["recipient"] == insurer.json("init")["accounts"][account]
            hospital = Cli(tmp_path / provider, node.url)
            imports[provider] = hospital.json("--as", account, "keys", "import", bundle)
            assert imports[provider]["plan_id"] == PLAN
            # The plan's key sits only in the hospital's state folder, readable by it alone.
            keyfile = tmp_path / provider / "keys" / "keys.json"
            assert keyfile.stat().st_mode & 0o077 == 0

        running = [
            claims_process(
                tmp_path / provider,
                node.url,
                "submit",
                office_visits(tmp_path / "r" / provider, provider),
            )
            for provider in HOSPITALS
        ]
        results = [r for process in running for r in finish(process)]
        assert len(results) == len(HOSPITALS) * len(MEMBERS)
        assert len({r["claim_id"] for r in results}) == len(results)  # each landed once
        # Each visit: 99213 allowed 120.00 (fixtures/plans/silver.yaml), copay 25.00, no
        # deductible on office visits: the plan pays 120.00 - 25.00 = 95.00.
        assert {r["status"] for r in results} == {"paid"}
        assert {r["totals"]["plan_paid"] for r in results} == {"95.00"}
        # The pool paid 3 visits x 95.00 = 285.00 to each of 4 providers:
        # 10000.00 - 4 x 285.00 = 8860.00.
        assert insurer.json("pool", PLAN)["balance"] == "8860.00"
        after = provider_tokens(tmp_path / "insurer", node.url)
        assert {p: after[p] - before[p] for p in HOSPITALS} == dict.fromkeys(
            HOSPITALS, Decimal("285.00")
        )
        for provider in HOSPITALS:
            record = f"{provider}-2027-900001"
            status = Cli(tmp_path / provider, node.url).json("status", "--record", record)
            assert status["status"] == "paid" and status["provider_id"] == provider


def test_keys_import_refuses_what_is_not_for_it(tmp_path: Path, anvil_node: AnvilNode) -> None:
    with start_node(tmp_path / "insurer-node") as node:
        insurer = Cli(tmp_path / "insurer", node.url)
        insurer.json("deploy", FIXTURES / "plans" / "silver.yaml")
        bundle = tmp_path / "hosp-a.bundle.json"
        insurer.json("keys", "export", PLAN, "--to", "hospital-1", "--out", bundle)

        hospital = Cli(tmp_path / "hospital", node.url)
        other = hospital("--as", "hospital-2", "keys", "import", bundle, code=1)
        assert other.stderr.startswith(
            f"error: {bundle}: the key bundle is for 0x90F79bf6EB2c4f870365E785982E1f101E93b906,"
            " not for 0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
        )
        tampered = tmp_path / "tampered.json"
        data = json.loads(bundle.read_text())
        tampered.write_text(json.dumps({**data, "plan_id": "GOLD-2027"}))
        changed = hospital("keys", "import", tampered, code=1)
        assert changed.stderr.startswith(
            f"error: {tampered}: the key bundle was changed or damaged: it does not open"
        )
        elsewhere = Cli(tmp_path / "elsewhere", anvil_node.url)
        wrong_chain = elsewhere("keys", "import", bundle, code=1)
        assert wrong_chain.stderr.startswith(
            f"error: {bundle}: the key bundle is for chain 1337, but this chain is 31337"
        )
        # Nothing was set up by the refused imports.
        assert not (tmp_path / "hospital" / "keys").exists()
        assert not (tmp_path / "hospital" / "deployments.json").exists()

        unknown = insurer("keys", "export", PLAN, "--to", "0x" + "12" * 20, "--out", bundle, code=1)
        assert "no public key is known for 0x1212121212121212121212121212121212121212" in (
            unknown.stderr
        )


@pytest.mark.anvil
def test_a_bundle_for_any_account_that_has_signed(tmp_path: Path, anvil_node: AnvilNode) -> None:
    """Not a dev account: its public key is read from a transaction it signed, and it opens
    the bundle with its own keystore."""
    from claimsengine.chain.accounts import create_keystore
    from claimsengine.chain.rpc import RpcChain

    signer = create_keystore(tmp_path / "hospital.json", "pw", iterations=2)
    insurer = Cli(tmp_path / "insurer", anvil_node.url)
    insurer.json("deploy", FIXTURES / "plans" / "silver.yaml")
    bundle = tmp_path / "bundle.json"
    unknown = insurer("keys", "export", PLAN, "--to", signer.address, "--out", bundle, code=1)
    assert f"no public key is known for {signer.address}: it has signed no transaction" in (
        unknown.stderr
    )
    with RpcChain(anvil_node.url, keystore={"hospital": signer}) as chain:
        chain._request("anvil_setBalance", signer.address, hex(10**18))
        chain.send("hospital", signer.address, b"")  # any transaction shows its public key
    exported = insurer.json("keys", "export", PLAN, "--to", signer.address, "--out", bundle)
    assert exported["recipient"] == signer.address

    hospital = Cli(tmp_path / "hospital", anvil_node.url)
    no_key = hospital("keys", "import", bundle, code=1)
    assert f"no key here for {signer.address} to open the bundle with" in no_key.stderr
    hospital.runner.env = {"CLAIMS_KEYSTORE_PASSWORD": "pw"}
    imported = hospital.json("keys", "import", bundle, "--keystore", tmp_path / "hospital.json")
    assert imported["account"] == signer.address and imported["new_key"] is True


def test_the_insurer_serves_the_folder_it_set_up(tmp_path: Path) -> None:
    # consortium.md's pilot: the insurer sets its plan up on the embedded chain, then serves
    # that folder with `claims node`, and goes on from the same folder over --rpc: exporting
    # a hospital's key bundle, reading its pool. The folder's deployments name the engine
    # (under the embedded chain, where it was deployed); over --rpc this used to say "no
    # claims engine is deployed on this chain".
    from click.testing import CliRunner

    from claimsengine.cli.main import main

    folder = tmp_path / "insurer-chain"
    runner = CliRunner()

    def local(*args: object) -> None:
        argv = ["--state", str(folder), "--json", *map(str, args)]
        done = runner.invoke(main, argv, catch_exceptions=False)
        assert done.exit_code == 0, done.output

    local("init")
    local("deploy", FIXTURES / "plans" / "silver.yaml")
    local("enroll", PLAN, FIXTURES / "members.csv")
    local("provider", "add", PLAN, "HOSP-A", "--account", "hospital-1")
    local("fund", PLAN, "1000.00")
    local("time", "set", "2027-07-01")
    with start_node(folder) as node:
        insurer = Cli(folder, node.url)
        bundle = tmp_path / "HOSP-A.bundle.json"
        insurer.json("keys", "export", PLAN, "--to", "hospital-1", "--out", bundle)
        hospital = Cli(tmp_path / "HOSP-A", node.url)
        assert hospital.json("--as", "hospital-1", "keys", "import", bundle)["plan_id"] == PLAN
        visits = office_visits(tmp_path / "r", "HOSP-A")
        results = hospital.json("--as", "hospital-1", "submit", visits)
        # 99213 allowed 120.00, copay 25.00, no deductible: 95.00 a visit.
        assert [r["totals"]["plan_paid"] for r in results] == ["95.00"] * len(MEMBERS)
        # 1000.00 - 3 x 95.00 = 715.00.
        assert insurer.json("pool", PLAN)["balance"] == "715.00"
