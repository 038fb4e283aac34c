"""The pure core of reconciliation: the ledger reader, the matching of ledger rows to claims,
the per-provider transfer totals and the balancing checks, on synthetic inputs (no chain).

Amounts are cents. The lines are the spec's worked examples (docs adjudication.md):
- the copay example: 99213 billed 180.00, fee 120.00 (45: 60.00), copay 25.00 (3) -> the
  plan pays 95.00;
- claim A: billed 500.00, fee 300.00 (45: 200.00), deductible 200.00 (1), coinsurance
  floor(100.00 x 20%) = 20.00 (2) -> the plan pays 80.00.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from claimsengine.abi import DecodedEvent, text_to_bytes32
from claimsengine.adjudication import LineAdjudication
from claimsengine.fieldreader import FieldReader
from claimsengine.history import group_claim_events
from claimsengine.payer import payer_from_dict
from claimsengine.reconcile import (
    RESULTS,
    LedgerError,
    LedgerRow,
    OnChainClaim,
    PlanSettlements,
    TokenTransfer,
    claim_status,
    claims_from_events,
    load_ledger,
    match,
    transfers_from_events,
)
from claimsengine.status import ClaimStatus

SCALE = 10**4  # a 6-decimal token: units per cent
PAYEE_A = "0x" + "aa" * 20
PAYEE_B = "0x" + "bb" * 20
ACCOUNT_A = "0x" + "a1" * 20
ACCOUNT_B = "0x" + "b1" * 20


def priced(code: str, billed: int, allowed: int, **shares: int) -> LineAdjudication:
    """A priced line; plan_paid is what the shares leave of allowed."""
    parts = {k: shares.get(k, 0) for k in ("deductible", "copay", "coinsurance", "benefit_limit")}
    return LineAdjudication(
        code=code,
        units=1,
        billed=billed,
        allowed=allowed,
        plan_paid=allowed - sum(parts.values()),
        **parts,
    )


def denied_line(code: str, billed: int, denial: int) -> LineAdjudication:
    return LineAdjudication(code, 1, billed, 0, 0, 0, 0, 0, 0, denial=denial)


COPAY_VISIT = priced("99213", 18_000, 12_000, copay=2_500)  # plan pays 95.00
CLAIM_A = priced("X", 50_000, 30_000, deductible=20_000, coinsurance=2_000)  # plan pays 80.00


def claim(
    claim_id: int,
    lines: tuple[LineAdjudication, ...] = (COPAY_VISIT,),
    *,
    status: str = "paid",
    provider: str = "HOSP-A",
    paid: int | None = None,
    payee: str | None = None,
    tx: bytes | None = None,
    log_index: int = 0,
) -> OnChainClaim:
    plan_paid = sum(line.plan_paid for line in lines)
    is_paid = status == "paid"
    return OnChainClaim(
        claim_id=claim_id,
        commitment=claim_id.to_bytes(32, "big"),
        member=b"\x01" * 32,
        provider_account=ACCOUNT_A if provider == "HOSP-A" else ACCOUNT_B,
        provider_id=provider,
        service_day=20_500,
        status=status,  # type: ignore[arg-type]
        lines=lines,
        reported_plan_paid=plan_paid,
        paid=(plan_paid if paid is None else paid) if is_paid else 0,
        payee=(payee or (PAYEE_A if provider == "HOSP-A" else PAYEE_B)) if is_paid else None,
        paid_tx=(tx or claim_id.to_bytes(32, "big")) if is_paid else None,
        paid_log_index=log_index if is_paid else None,
    )


def transfer_for(c: OnChainClaim, units: int | None = None, log_index: int = 1) -> TokenTransfer:
    assert c.paid_tx is not None and c.payee is not None
    return TokenTransfer(c.paid_tx, log_index, c.payee, c.paid * SCALE if units is None else units)


#: The formats.md example payer, and valid NPIs (Luhn over 80840 + the first 9 digits).
PAYER = payer_from_dict(
    {
        "name": "Silver Health Plan",
        "id": "SHP01",
        "address": {"line": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
        "contact": {"name": "Claims Support", "phone": "8005551234"},
    },
    FieldReader(),
)
NPIS = {"HOSP-A": "1234567893", "HOSP-B": "1245319599"}


def settlements(
    claims: list[OnChainClaim],
    transfers: list[TokenTransfer] | None = None,
    record_ids: dict[int, str] | None = None,
    **remittance: object,
) -> PlanSettlements:
    """The plan's settlements; ``remittance`` overrides payer, npis, member_ids or
    collections (defaults: PAYER, NPIS, member M-000<claim id>, no collections)."""
    if transfers is None:
        transfers = [transfer_for(c) for c in claims if c.status == "paid"]
    if record_ids is None:
        record_ids = {c.claim_id: f"REC-{c.claim_id}" for c in claims}
    remittance.setdefault("payer", PAYER)
    remittance.setdefault("npis", NPIS)
    remittance.setdefault("member_ids", {c.commitment: f"M-{c.claim_id:04d}" for c in claims})
    return PlanSettlements(
        plan_id="SILVER-2027",
        token="0x" + "70" * 20,
        token_scale=SCALE,
        engine="0x" + "e0" * 20,
        today=20_635,
        claims=tuple(claims),
        transfers=tuple(transfers),
        record_ids={cid.to_bytes(32, "big"): rid for cid, rid in record_ids.items()},
        **remittance,  # type: ignore[arg-type]
    )


def rows(*pairs: tuple[str, int]) -> list[LedgerRow]:
    return [LedgerRow(rid, cents, line) for line, (rid, cents) in enumerate(pairs, start=2)]


def one(report, record_id):  # type: ignore[no-untyped-def]
    (found,) = [r for r in report.records if r.record_id == record_id]
    return found


# -- every kind of result ---------------------------------------------------------------


def test_matched_when_paid_equals_expected() -> None:
    report = match(settlements([claim(1)]), rows(("REC-1", 9_500)))
    record = one(report, "REC-1")
    assert record.result == "matched"
    assert (record.expected_paid, record.plan_paid, record.paid) == (9_500, 9_500, 9_500)
    assert record.reasons == ()
    assert report.ok


def test_a_long_report_shows_people_the_records_not_matched_first() -> None:
    # Five claims each paid 95.00; the ledger expects 95.00 of REC-1..3 (matched) and
    # 100.00 of REC-4 and REC-5 (short paid by 5.00 each).
    expected = [(f"REC-{n}", 9_500 if n <= 3 else 10_000) for n in range(1, 6)]
    report = match(settlements([claim(n) for n in range(1, 6)]), rows(*expected))
    everything, note = report.records_to_read(5)
    assert (len(everything), note) == (5, "")
    shown, note = report.records_to_read(4)
    assert [r.record_id for r in shown] == ["REC-4", "REC-5"]
    assert note == "5 records: showing 2 of the 2 that are not matched"
    shown, note = report.records_to_read(1)
    assert [r.record_id for r in shown] == ["REC-4"]
    assert note == "5 records: showing 1 of the 2 that are not matched"


def test_short_paid_gives_the_adjustment_codes_with_amounts() -> None:
    # The hospital expected the whole 180.00; the plan paid 95.00 = 180 - 60 (45) - 25 (3).
    report = match(settlements([claim(1)]), rows(("REC-1", 18_000)))
    record = one(report, "REC-1")
    assert record.result == "short_paid"
    assert record.reasons == ("45: 60.00", "3: 25.00")
    assert record.difference == -8_500
    assert ", ".join(record.reasons) == "45: 60.00, 3: 25.00"


def test_short_paid_sums_codes_over_lines_in_spec_order() -> None:
    # Two lines: the copay visit (45: 60, 3: 25) and claim A (45: 200, 1: 200, 2: 20).
    # Summed: 45: 260.00, 1: 200.00, 3: 25.00, 2: 20.00 (the spec's order 45, 1, 3, 2, 119);
    # the plan pays 95.00 + 80.00 = 175.00.
    two = claim(1, (COPAY_VISIT, CLAIM_A))
    record = one(match(settlements([two]), rows(("REC-1", 68_000))), "REC-1")
    assert record.paid == 17_500
    assert record.reasons == ("45: 260.00", "1: 200.00", "3: 25.00", "2: 20.00")


def test_short_paid_says_when_the_ledger_expects_more_than_was_billed() -> None:
    record = one(match(settlements([claim(1)]), rows(("REC-1", 20_000))), "REC-1")
    assert record.result == "short_paid"
    assert record.reasons[-1] == "expected more than billed: 20.00"


def test_over_paid_when_the_ledger_expects_less() -> None:
    record = one(match(settlements([claim(1)]), rows(("REC-1", 9_000))), "REC-1")
    assert record.result == "over_paid"
    assert record.difference == 500


@pytest.mark.parametrize("status", ["denied", "pending_review", "queued"])
def test_unpaid_statuses_are_their_own_results(status: str) -> None:
    lines = (denied_line("99213", 18_000, 27),) if status == "denied" else (COPAY_VISIT,)
    record = one(
        match(settlements([claim(1, lines, status=status)]), rows(("REC-1", 9_500))), "REC-1"
    )
    assert record.result == status
    assert record.paid == 0
    assert record.plan_paid == (0 if status == "denied" else 9_500)


def test_denied_gives_the_denial_code_for_the_whole_billed_amount() -> None:
    lines = (denied_line("99213", 18_000, 27), denied_line("71046", 9_500, 27))
    record = one(
        match(settlements([claim(1, lines, status="denied")]), rows(("REC-1", 1))), "REC-1"
    )
    assert record.reasons == ("27: 275.00",)


def test_not_on_chain_when_no_claim_has_the_record_id() -> None:
    report = match(settlements([claim(1)]), rows(("REC-1", 9_500), ("NEVER-SENT", 4_000)))
    record = one(report, "NEVER-SENT")
    assert record.result == "not_on_chain"
    assert (record.plan_paid, record.paid, record.claim) == (None, None, None)
    assert record.to_json()["plan_paid"] is None


def test_not_in_ledger_for_a_paid_claim_the_ledger_lacks() -> None:
    report = match(settlements([claim(1), claim(2)]), rows(("REC-1", 9_500)))
    record = one(report, "REC-2")
    assert record.result == "not_in_ledger"
    assert record.expected_paid is None and record.paid == 9_500
    assert report.unledgered == ()


def test_unpaid_claims_missing_from_the_ledger_are_listed_apart() -> None:
    claims = [claim(1), claim(2, status="queued"), claim(3, status="pending_review")]
    report = match(settlements(claims), rows(("REC-1", 9_500)))
    assert [r.result for r in report.records] == ["matched"]
    assert [u.claim.claim_id for u in report.unledgered] == [2, 3]
    assert report.to_json()["unledgered"][0] == {
        "claim_id": 2,
        "record_id": "REC-2",
        "provider_id": "HOSP-A",
        "status": "queued",
        "plan_paid": "95.00",
    }


def test_summary_counts_every_result() -> None:
    claims = [
        claim(1),
        claim(2),
        claim(3),
        claim(4, (denied_line("99213", 18_000, 96),), status="denied"),
        claim(5, status="pending_review"),
        claim(6, status="queued"),
        claim(7),
        dataclasses.replace(claim(8, status="queued"), status="voided", voided_from="queued"),
    ]
    ledger = rows(
        ("REC-1", 9_500),
        ("REC-2", 10_000),
        ("REC-3", 9_000),
        ("REC-4", 18_000),
        ("REC-5", 9_500),
        ("REC-6", 9_500),
        ("REC-8", 9_500),
        ("GONE", 100),
    )
    report = match(settlements(claims), ledger)
    assert report.summary == {result: 1 for result in RESULTS}
    assert [r.result for r in report.records] == list(RESULTS)


def test_json_shape_of_a_record() -> None:
    record = one(match(settlements([claim(1)]), rows(("REC-1", 18_000))), "REC-1").to_json()
    assert {"record_id", "result", "expected_paid", "plan_paid", "paid", "reasons"} <= set(record)
    assert record["expected_paid"] == "180.00" and record["paid"] == "95.00"
    assert record["reasons"] == ["45: 60.00", "3: 25.00"]


def test_report_json_is_serialisable() -> None:
    report = match(settlements([claim(1)]), rows(("REC-1", 9_500)))
    data = json.loads(json.dumps(report.to_json()))
    assert data["ok"] is True and data["summary"]["matched"] == 1
    assert data["providers"][0]["transfers"] == "95.00"


# -- record ids ---------------------------------------------------------------------------


def test_the_same_record_id_at_two_providers_needs_a_provider() -> None:
    claims = [claim(1), claim(2, provider="HOSP-B")]
    both = settlements(claims, record_ids={1: "R-1", 2: "R-1"})
    with pytest.raises(LedgerError) as error:
        match(both, rows(("R-1", 9_500)), ledger_name="ledger.csv")
    assert str(error.value).startswith("ledger.csv: line 2: record R-1: field record_id:")
    assert "HOSP-A, HOSP-B" in str(error.value)
    assert "provider_id column" in (error.value.hint or "")


def test_a_provider_column_resolves_a_shared_record_id() -> None:
    claims = [claim(1), claim(2, provider="HOSP-B")]
    both = settlements(claims, record_ids={1: "R-1", 2: "R-1"})
    ledger = [LedgerRow("R-1", 9_500, 2, "HOSP-B"), LedgerRow("R-1", 9_500, 3, "HOSP-A")]
    report = match(both, ledger)
    assert [(r.result, r.claim.claim_id) for r in report.records if r.claim] == [
        ("matched", 2),
        ("matched", 1),
    ]


def test_a_provider_scope_keeps_only_that_providers_claims() -> None:
    claims = [claim(1), claim(2, provider="HOSP-B")]
    both = settlements(claims, record_ids={1: "R-1", 2: "R-1"})
    report = match(both, rows(("R-1", 9_500)), provider="HOSP-B")
    assert [(r.result, r.claim.claim_id if r.claim else None) for r in report.records] == [
        ("matched", 2)
    ]
    assert [p.provider_id for p in report.providers] == ["HOSP-B"]
    assert report.ok  # HOSP-A's transfer is not in scope, and not unexplained


def test_two_rows_for_one_claim_are_refused() -> None:
    ledger = [LedgerRow("REC-1", 9_500, 2, None), LedgerRow("REC-1", 9_500, 5, "HOSP-A")]
    with pytest.raises(LedgerError, match="line 5: record REC-1: .*same claim as line 2"):
        match(settlements([claim(1)]), ledger, ledger_name="l.csv")


def test_warns_when_no_record_id_is_known_here() -> None:
    report = match(settlements([claim(1)], record_ids={}), rows(("REC-1", 9_500)))
    assert report.records[0].result == "not_on_chain"
    assert report.records[1].result == "not_in_ledger" and report.records[1].record_id is None
    assert "journal or vault" in report.warnings[0]


# -- per-provider totals against token transfers ------------------------------------------


def test_provider_totals_equal_the_token_transfers() -> None:
    claims = [
        claim(1),
        claim(2, (CLAIM_A,)),
        claim(3, provider="HOSP-B"),
        claim(4, status="queued"),
    ]
    report = match(settlements(claims), rows(("REC-1", 9_500)))
    totals = {p.provider_id: p for p in report.providers}
    # HOSP-A: paid 95.00 + 80.00 = 175.00; queued 95.00. HOSP-B: paid 95.00.
    assert (totals["HOSP-A"].paid, totals["HOSP-A"].queued) == (17_500, 9_500)
    assert totals["HOSP-A"].transfers == 17_500 * SCALE
    assert totals["HOSP-B"].transfers == 9_500 * SCALE
    assert all(p.ok for p in report.providers)
    assert report.checks[2].detail == "paid 270.00 = transfers 270.00"


def test_a_batch_paid_in_one_transfer_balances() -> None:
    # submit_claims pays a batch's claims to the payee in one transfer at the end.
    tx = b"\x07" * 32
    one_a, one_b = claim(1, tx=tx, log_index=3), claim(2, (CLAIM_A,), tx=tx, log_index=6)
    total = TokenTransfer(tx, 9, PAYEE_A, (9_500 + 8_000) * SCALE)
    report = match(settlements([one_a, one_b], [total]), rows())
    assert report.ok and report.providers[0].transfers == 17_500 * SCALE


def test_a_short_transfer_fails_the_check() -> None:
    paid = claim(1)
    report = match(settlements([paid], [transfer_for(paid, units=9_000 * SCALE)]), rows())
    assert not report.ok
    check = report.checks[2]
    assert check.name == "payments match transfers" and not check.ok
    assert "HOSP-A: paid 95.00, transfers 90.00" in check.detail
    assert not report.providers[0].ok


def test_a_payment_without_a_transfer_fails_the_check() -> None:
    report = match(settlements([claim(1)], []), rows(("REC-1", 9_500)))
    assert report.records[0].result == "matched"  # the record still matches the event
    assert not report.checks[2].ok


def test_a_transfer_no_payment_explains_fails_the_check() -> None:
    paid = claim(1)
    stray = TokenTransfer(paid.paid_tx or b"", 7, "0x" + "cc" * 20, 500 * SCALE)
    report = match(settlements([paid], [transfer_for(paid), stray]), rows())
    assert not report.checks[2].ok
    assert "matches no payment" in report.checks[2].detail


def test_a_settlement_paying_two_providers_at_one_payee_splits_by_log_order() -> None:
    # settle logs ClaimPaid then transfers, claim by claim, in one transaction.
    tx = b"\x09" * 32
    first = claim(1, tx=tx, payee=PAYEE_A, log_index=0)
    second = claim(2, (CLAIM_A,), provider="HOSP-B", tx=tx, payee=PAYEE_A, log_index=2)
    transfers = [
        TokenTransfer(tx, 1, PAYEE_A, 9_500 * SCALE),
        TokenTransfer(tx, 3, PAYEE_A, 8_000 * SCALE),
    ]
    report = match(settlements([first, second], transfers), rows())
    totals = {p.provider_id: p.transfers for p in report.providers}
    assert totals == {"HOSP-A": 9_500 * SCALE, "HOSP-B": 8_000 * SCALE}
    assert report.ok


# -- the balancing checks ------------------------------------------------------------------


def test_a_line_that_does_not_balance_fails() -> None:
    broken = LineAdjudication("99213", 1, 18_000, 12_000, 0, 2_500, 0, 0, 9_000)  # 95 -> 90
    report = match(settlements([claim(1, (broken,))]), rows())
    assert not report.checks[0].ok
    assert (
        "claim 1 line 1: billed 180.00 - adjustments 85.00 != paid 90.00" in report.checks[0].detail
    )


def test_a_paid_amount_that_differs_from_the_lines_fails() -> None:
    report = match(settlements([claim(1, paid=9_000)]), rows())
    assert not report.checks[1].ok
    assert "paid 90.00, its lines give 95.00" in report.checks[1].detail


def test_a_submitted_total_that_differs_from_the_lines_fails() -> None:
    odd = dataclasses.replace(claim(1), reported_plan_paid=1)
    assert not match(settlements([odd]), rows()).checks[1].ok


def test_an_unpaid_claim_with_a_payment_fails() -> None:
    queued = dataclasses.replace(claim(1, status="queued"), paid=100)
    assert not match(settlements([queued], []), rows()).checks[1].ok


# -- from events --------------------------------------------------------------------------


def event(name: str, tx: int, index: int, **args: object) -> DecodedEvent:
    return DecodedEvent(name, dict(args), tx, tx.to_bytes(32, "big"), index, "0x" + "e0" * 20)


def submitted(
    claim_id: int, status: ClaimStatus, plan_paid: int, tx: int = 1
) -> list[DecodedEvent]:
    line = COPAY_VISIT
    return [
        event(
            "LineAdjudicated",
            tx,
            0,
            claim_id=claim_id,
            line=0,
            code=text_to_bytes32(line.code),
            units=1,
            billed=line.billed,
            allowed=line.allowed,
            deductible=0,
            copay=line.copay,
            coinsurance=0,
            benefit_limit=0,
            plan_paid=line.plan_paid,
            denial=0,
        ),
        event(
            "ClaimSubmitted",
            tx,
            1,
            claim_id=claim_id,
            plan_id=text_to_bytes32("SILVER-2027"),
            member=b"\x02" * 32,
            provider=ACCOUNT_A,
            commitment=claim_id.to_bytes(32, "big"),
            service_day=20_500,
            status=status.code,
            plan_paid=plan_paid,
        ),
    ]


def paid_event(claim_id: int, tx: int, index: int = 2) -> DecodedEvent:
    return event(
        "ClaimPaid", tx, index, claim_id=claim_id, plan_id=b"", payee=PAYEE_A, amount=9_500
    )


@pytest.mark.parametrize(
    ("later", "first", "expected"),
    [
        ([], ClaimStatus.PAID, "paid"),
        ([], ClaimStatus.QUEUED, "queued"),
        ([], ClaimStatus.DENIED, "denied"),
        ([], ClaimStatus.PENDING_REVIEW, "pending_review"),
        (["queued"], ClaimStatus.QUEUED, "queued"),
        (["queued", "paid"], ClaimStatus.QUEUED, "paid"),
        (["reviewed-yes", "queued"], ClaimStatus.PENDING_REVIEW, "queued"),
        (["reviewed-yes", "paid"], ClaimStatus.PENDING_REVIEW, "paid"),
        (["reviewed-yes", "queued", "paid"], ClaimStatus.PENDING_REVIEW, "paid"),
        (["reviewed-no"], ClaimStatus.PENDING_REVIEW, "denied"),
    ],
)
def test_status_from_events(later: list[str], first: ClaimStatus, expected: str) -> None:
    events = submitted(1, first, 9_500)
    for step, name in enumerate(later, start=2):
        if name == "paid":
            events.append(paid_event(1, step))
        elif name == "queued":
            events.append(
                event("ClaimQueued", step, 0, claim_id=1, plan_id=b"", position=0, amount=9_500)
            )
        else:
            events.append(
                event(
                    "ClaimReviewed",
                    step,
                    0,
                    claim_id=1,
                    plan_id=b"",
                    adjudicator=ACCOUNT_B,
                    approved=name == "reviewed-yes",
                )
            )
    assert claim_status(group_claim_events(events)[1]) == expected


def test_claims_and_transfers_from_events() -> None:
    events = [
        *submitted(1, ClaimStatus.PAID, 9_500, tx=1),
        paid_event(1, 1),
        *submitted(2, ClaimStatus.QUEUED, 9_500, tx=2),
    ]
    claims = claims_from_events(group_claim_events(events), {ACCOUNT_A: "HOSP-A"})
    assert [(c.claim_id, c.status, c.paid, c.provider_id) for c in claims] == [
        (1, "paid", 9_500, "HOSP-A"),
        (2, "queued", 0, "HOSP-A"),
    ]
    assert claims[0].lines == (COPAY_VISIT,)
    assert claims[0].payee == PAYEE_A and claims[0].paid_tx == (1).to_bytes(32, "big")
    token_events = [
        event("Transfer", 1, 3, sender="0x" + "e0" * 20, receiver=PAYEE_A, value=9_500 * SCALE),
        event("Transfer", 5, 0, sender="0x" + "e0" * 20, receiver=PAYEE_A, value=1),  # withdrawal
    ]
    transfers = transfers_from_events(token_events, {c.paid_tx for c in claims if c.paid_tx})
    assert transfers == [TokenTransfer((1).to_bytes(32, "big"), 3, PAYEE_A, 9_500 * SCALE)]


# -- the ledger file -----------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "ledger.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_ledger_reads_rows_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, "\ufeffrecord_id,expected_paid,note\nA-1,95.00,x\n\nA-2, 180 ,\nA-3,0.5,\n"
    )
    assert load_ledger(path) == [
        LedgerRow("A-1", 9_500, 2),
        LedgerRow("A-2", 18_000, 4),
        LedgerRow("A-3", 50, 5),
    ]


def test_load_ledger_reads_an_optional_provider_column(tmp_path: Path) -> None:
    path = write(
        tmp_path, "provider_id,record_id,expected_paid\nHOSP-A,R-1,1.00\nHOSP-B,R-1,2.00\n"
    )
    assert [(r.provider_id, r.expected_paid) for r in load_ledger(path)] == [
        ("HOSP-A", 100),
        ("HOSP-B", 200),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ledger.csv: is empty"),
        ("record_id,paid\nA,1.00\n", "ledger.csv: line 1: the header has no expected_paid column"),
        (
            "record_id,expected_paid\nA,12.345\n",
            "ledger.csv: line 2: record A: field expected_paid: amount '12.345' has more than 2",
        ),
        (
            "record_id,expected_paid\nA,1.00\nB,-5.00\n",
            "ledger.csv: line 3: record B: field expected_paid: amount '-5.00' is negative",
        ),
        (
            "record_id,expected_paid\nA,$5\n",
            "ledger.csv: line 2: record A: field expected_paid: amount '$5' is not a number",
        ),
        ("record_id,expected_paid\nA,\n", "ledger.csv: line 2: record A: field expected_paid:"),
        ("record_id,expected_paid\n,1.00\n", "ledger.csv: line 2: field record_id: is empty"),
        (
            "record_id,expected_paid\nA,1,000.00\n",
            "ledger.csv: line 2: has 3 fields, the header has 2",
        ),
        (
            "record_id,expected_paid\nA,1.00\n\nA,2.00\n",
            "ledger.csv: line 4: record A: field record_id: is in the ledger twice (first on line",
        ),
        (
            "record_id,expected_paid,record_id\nA,1.00,A\n",
            "ledger.csv: line 1: the header names record_id twice",
        ),
    ],
)
def test_load_ledger_names_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LedgerError) as error:
        load_ledger(path)
    assert str(error.value).replace(str(path), "ledger.csv").startswith(message)


def test_load_ledger_reports_every_bad_row_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "record_id,expected_paid\nA,12.345\nB,1.00\n,2.00\nB,3.00\n")
    with pytest.raises(LedgerError) as error:
        load_ledger(path)
    assert str(error.value).replace(str(path), "ledger.csv") == (
        "ledger.csv: 3 rows are wrong: line 2: record A: field expected_paid: amount '12.345' "
        "has more than 2 decimals; line 4: field record_id: is empty; line 5: record B: field "
        "record_id: is in the ledger twice (first on line 3)"
    )
    assert error.value.hint == "fix the rows and run the command again"


def test_load_ledger_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no such file"):
        load_ledger(tmp_path / "nope.csv")


def test_load_ledger_line_numbers_count_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, 'record_id,expected_paid,note\nA,1.00,"two\nlines"\nB,x,\n')
    with pytest.raises(LedgerError) as error:
        load_ledger(path)
    assert error.value.line == 4
