"""Path (2) of bench/throughput.py: titanoboa calling the engine once per claim.

This script runs in the separate benchmark venv (bench/.venv-bench, titanoboa 0.2.8), never
in the project's venv, so it imports nothing from claimsengine. The parent process hands it
the compiled contracts (the same bytecode every other path deploys) and the claims already
turned into ABI values, in a JSON file; it prints one JSON object on stdout.

    bench/.venv-bench/bin/python bench/boa_path.py INPUT.json
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def _b(text: str) -> bytes:
    return bytes.fromhex(text)


def _claim(raw: list[Any]) -> tuple[Any, ...]:
    commitment, member, day, prior_auth, lines = raw
    return (
        _b(commitment),
        _b(member),
        day,
        prior_auth,
        [(_b(code), units, billed) for code, units, billed in lines],
    )


def main(path: str) -> None:
    started = time.perf_counter()
    import boa

    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    imported = time.perf_counter() - started
    env = boa.env
    insurer = env.generate_address("insurer")
    hospital = env.generate_address("hospital")
    env.timestamp = spec["now"]

    token_address, _ = env.deploy_code(sender=insurer, bytecode=_b(spec["token"]["bytecode"]))
    engine_address, _ = env.deploy_code(sender=insurer, bytecode=_b(spec["engine"]["bytecode"]))
    token = boa.loads_abi(json.dumps(spec["token"]["abi"]), name="DevToken").at(token_address)
    engine = boa.loads_abi(json.dumps(spec["engine"]["abi"]), name="ClaimsEngine").at(
        engine_address
    )
    plan_id = _b(spec["plan_id"])
    terms = [str(token_address), *spec["terms"][1:]]
    services = [(_b(code), *rest) for code, *rest in spec["services"]]
    engine.set_insurer(insurer, True, sender=insurer)  # the deployer owns the engine
    engine.create_plan(plan_id, tuple(terms), services, sender=insurer)
    enrollments = [(_b(m), *rest) for m, *rest in spec["enrollments"]]
    for i in range(0, len(enrollments), 256):
        engine.enroll(plan_id, enrollments[i : i + 256], sender=insurer)
    provider_ref = _b(spec["provider_ref"])
    engine.register_provider(plan_id, provider_ref, hospital, 0, sender=insurer)
    units = spec["pool_cents"] * spec["token_scale"]
    token.mint(insurer, units, sender=insurer)
    token.approve(engine_address, units, sender=insurer)
    engine.fund(plan_id, spec["pool_cents"], sender=insurer)

    claims = [_claim(raw) for raw in spec["claims"]]
    gas: list[int] = []
    begin = time.perf_counter()
    cpu_begin = time.process_time()
    for claim in claims:
        engine.submit_claim(plan_id, claim, sender=hospital)
        computation = engine._computation
        if computation is not None and len(gas) < 200:
            gas.append(computation.get_gas_used())
    elapsed = time.perf_counter() - begin
    cpu = time.process_time() - cpu_begin

    # Check, outside the timing, that every claim was paid (status 4).
    paid = sum(
        1 for claim in claims if engine.claim_status(plan_id, provider_ref, claim[0])[1] == 4
    )
    print(
        json.dumps(
            {
                "claims": len(claims),
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "paid": paid,
                "gas_sample": gas,
                "import_seconds": imported,
                "boa_version": getattr(boa, "__version__", "unknown"),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
