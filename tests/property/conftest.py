"""Hypothesis profiles for the property suite, and the import path its helpers need.

Example counts and the ``DURABLE_FLOWS_SOAK`` multiplier live in ``soak.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"
for folder in (HERE, FIXTURES):  # wfgen, soak, golden_wf, ... are imported by plain name
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from soak import SOAK  # noqa: E402 - needs the path above

settings.register_profile(
    "durable_flows",
    deadline=None,  # runs go through threads and SQLite: timings are noisy
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "durable_flows_soak",
    parent=settings.get_profile("durable_flows"),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
settings.load_profile("durable_flows_soak" if SOAK > 1 else "durable_flows")
