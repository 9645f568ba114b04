"""Seeds (issue 14 item 1): the ``snapshot`` a mid-run ``to_dict()`` carries, on generated runs.

For every unfinished prefix of a generated run's journal, the seed taken from
the folded state goes through JSON unchanged (twice the same text), and the
state it seeds (``seed.seed_state``) is that state, but for what the seed
changes on purpose: journal positions renumbered below 1 in the same order,
``last_seq`` and ``inbox_seen`` 0, the run id and fingerprint the new run's.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import wfgen
from hypothesis import given, settings
from proptools import finish, fresh_store
from soak import examples, time_budget
from state_views import full_view

from durable_flows.codec.journal import Codec
from durable_flows.runtime.reducer import reduce
from durable_flows.runtime.replay import decode_journal, replay_spec
from durable_flows.runtime.seed import seed_payload, seed_state
from durable_flows.runtime.state import RunState


def _expected(view: dict[str, Any], shift: int) -> dict[str, Any]:
    view = dict(view)
    view["queues"] = {s: [[seq - shift, e] for seq, e in q] for s, q in view["queues"].items()}
    view["execs"] = {i: [x[0], x[1] - shift, *x[2:]] for i, x in view["execs"].items()}
    view.update(last_seq=0, inbox_seen=0, run_id="seeded", fingerprint={"new": True})
    return view


@pytest.mark.timeout(time_budget(60))
@settings(max_examples=examples(25))
@given(plan=wfgen.plans())
def test_every_unfinished_prefix_seeds_the_same_state(plan: dict[str, Any]) -> None:
    async def go() -> None:
        async with fresh_store("memory") as store:
            outcome = await finish(plan, store, "r", resumed=False)
        spec = wfgen.make(plan, store=None)._run_spec()
        records = decode_journal("r", outcome.entries, Codec())
        folding = replay_spec(records, spec)
        state = RunState(run_id="r")
        for rec in records:
            reduce(state, rec, folding)
            payload = seed_payload(state, Codec())
            if state.finished or payload is None:
                continue
            text = json.dumps(payload, sort_keys=True)
            assert json.dumps(json.loads(text), sort_keys=True) == text
            seeded = seed_state(json.loads(text), Codec(), "seeded", {"new": True})
            assert full_view(seeded) == _expected(full_view(state), state.last_seq + 1), rec.seq

    asyncio.run(go())
