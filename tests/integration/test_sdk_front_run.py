"""The front-run of a hospital's claim (issue "Trust between parties", H-1), through the SDK.

An attacker who is an insurer creates its own plan, registers itself there as a provider,
and copies the commitment of a hospital's pending claim into a claim of its own, ahead of
the hospital's. Commitments are per (plan, provider): the hospital's claim still goes
through, and the SDK never takes the attacker's claim for the hospital's, neither when
submitting nor when resuming a stopped run.
"""

from __future__ import annotations

import pytest

from claimsengine.engine import ChainClaim, ChainLine
from claimsengine.journal import SUBMITTED
from claimsengine.plan import load_plan, plan_from_dict, plan_to_dict
from claimsengine.records import TreatmentRecord
from claimsengine.sdk import HospitalClient, InsurerClient
from claimsengine.workspace import Workspace
from tests.integration import test_orchestrator as orchestrator_tests
from tests.integration.test_orchestrator import FIXTURES, PLAN, record

ATTACKER = "hospital-4"
ATTACK_PLAN = "EVIL-2027"


# The silver plan with HOSP-A (hospital-1) and HOSP-B, members, a funded pool: test_orchestrator's.
workspace = orchestrator_tests.workspace


def front_run(workspace: Workspace, commitment: bytes) -> int:
    """The attacker's moves: become an insurer, create a plan, register itself as its
    provider, and submit a claim that carries the hospital's commitment. Returns the id of
    the attacker's claim."""
    with workspace.command():
        InsurerClient(workspace, "insurer").add_insurer(ATTACKER)
        attacker = InsurerClient(workspace, ATTACKER)
        plan = load_plan(FIXTURES / "plans" / "silver.yaml")
        attacker.deploy(plan_from_dict({**plan_to_dict(plan), "id": ATTACK_PLAN}, source="test"))
        attacker.add_provider(ATTACK_PLAN, "EVIL", ATTACKER)
        claim = ChainClaim(
            commitment=commitment,
            member=b"\x01" * 32,  # nobody is enrolled in the attacker's plan: denied 31
            service_day=to_service_day(workspace),
            prior_auth=False,
            lines=(ChainLine("71046", 1, 9_500),),
        )
        receipt = workspace.engine.submit_claim(
            workspace.chain.address_of(ATTACKER), ATTACK_PLAN, claim
        )
    (submitted,) = [
        e for e in workspace.engine.decode_logs(receipt.logs) if e.name == "ClaimSubmitted"
    ]
    return int(submitted.args["claim_id"])


def to_service_day(workspace: Workspace) -> int:
    return workspace.chain.now() // 86_400 - 1


def visit() -> TreatmentRecord:
    return TreatmentRecord.from_json(record("HOSP-A-FRONT-RUN-1"))


def test_a_copied_commitment_neither_blocks_nor_is_taken_for_the_hospitals_claim(
    workspace: Workspace,
) -> None:
    record_ = visit()
    _salt, commitment = workspace.commitment(record_)
    attacker_claim = front_run(workspace, commitment)

    with workspace.command():
        (outcome,) = HospitalClient(workspace).submit_many([record_])

    assert outcome.error is None, outcome.error
    assert outcome.result is not None and not outcome.already_submitted
    result = outcome.result
    assert result.claim_id != attacker_claim
    assert (result.plan_id, result.provider_id) == (PLAN, "HOSP-A")
    # 71046 billed 95.00, fee 95.00, deductible applies: M-0001 has met none of the
    # 1,000.00 deductible, so plan paid 0.00 and the claim is paid (nothing to pay).
    assert result.status == "paid"
    entry = workspace.journal.by_record(workspace.chain_key, "HOSP-A", "HOSP-A-FRONT-RUN-1")
    assert entry is not None and entry.state == SUBMITTED and entry.claim_id == result.claim_id


def test_resume_does_not_take_a_copied_commitment_for_the_hospitals_claim(
    workspace: Workspace,
) -> None:
    # A run that stopped after journalling the record, before the chain had it; the
    # attacker's copy lands in between.
    record_ = visit()
    hospital = HospitalClient(workspace)
    with pytest.raises(RuntimeError), workspace.command():
        hospital.submit_many([record_])
        raise RuntimeError("stopped before the chain committed")
    _salt, commitment = workspace.commitment(record_)
    attacker_claim = front_run(workspace, commitment)

    with workspace.command():
        (outcome,) = hospital.resume()

    assert outcome.error is None, outcome.error
    assert outcome.result is not None and outcome.result.claim_id != attacker_claim
    assert outcome.result.provider_id == "HOSP-A"
    entry = workspace.journal.by_record(workspace.chain_key, "HOSP-A", "HOSP-A-FRONT-RUN-1")
    assert entry is not None and entry.claim_id == outcome.result.claim_id
