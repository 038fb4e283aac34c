"""Generated populations: a year of a plan's claims, run end to end on a chain.

``generate_population(members, claims, seed)`` makes a plan (the Silver schedule under
its own id), members with coverage dates (most covered since before the plan year, some
new on its first day and so in the waiting period in January, some joining or leaving
mid-year), three providers, and treatment records as hospitals send them: mostly office
visits, some imaging and labs, a few therapy sessions, rare large procedures that go to
review, and a share of bad input (amounts with three decimals or below zero, zero units,
members the plan does not know) and of duplicates (exact copies, and a used record id with
different content). Everything is drawn from ``random.Random(seed)``: the same seed gives
the same population, byte for byte.

The records run on two months past the plan's first benefit period, into the second.

``run_population(population)`` plays the year on a chain, one weekly round at a time:

1. the clock moves to the round's day; on the first round of a new benefit period the
   insurer renews the plan (``InsurerClient.renew``), so that the period after it is
   enrolled before it begins, as an insurer does each period;
2. the hospitals submit the records due that week, as ``claims submit`` does
   (``orchestrator.submit_paths``): bad records are set aside, copies recognised;
3. the adjudicator decides the claims pending review (about 1 in 5 is denied; the choice
   is drawn from the seed and the record id, so it is reproducible);
4. the insurer tops the pool up when it runs short or claims queue, and anyone settles;
5. the pool is sampled after each step.

At the end the hospitals reconcile their ledgers with ``reconcile.reconcile``. The report
gives throughput (claims per second of the whole run, and of submission alone), gas per
claim, the mix of statuses and denial reasons, the total paid, and the pool over time;
``write_chart`` draws the pool's balance and the amounts paid per chain day to a PNG.

From the command line: ``claims simulate --generate --members 200 --claims 2000 --seed 7``.

The modules: ``generate`` (the population), ``run`` (the year on a chain) and ``report``
(the counts, the pool over time, the chart).
"""

from __future__ import annotations

from claimsengine.population.generate import (
    PLAN_ID,
    PROVIDERS,
    Population,
    ProviderSpec,
    generate_population,
)
from claimsengine.population.report import PoolSample, PopulationReport, write_chart
from claimsengine.population.run import ROUND_DAYS, run_population

__all__ = [
    "PLAN_ID",
    "PROVIDERS",
    "ROUND_DAYS",
    "Population",
    "PopulationReport",
    "PoolSample",
    "ProviderSpec",
    "generate_population",
    "run_population",
    "write_chart",
]
