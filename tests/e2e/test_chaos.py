"""Chaos, shortened: ``bench/chaos.py``'s harness with 5 kills and a smaller program.

The real bot runs in a subprocess through the scripted day (check-ins, a broadcast, a 429
storm, reminders, digests through a slow SMTP relay that drops connections after ``DATA``, a
gateway drop, a campaign's end with reward roles) and is SIGKILLed and restarted 5 times;
every message, role and email is then counted against what the day should have produced.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"


def _harness():
    spec = importlib.util.spec_from_file_location("bench_chaos", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
async def test_killed_five_times_nothing_lost_or_sent_twice(tmp_path):
    chaos = _harness()
    result = await chaos.main(kills=5, seed_=7, families=4, per_family=8, smtp_delay=0.5,
                              smtp_drop_every=3, storm=chaos.STORM,
                              folder=tmp_path)
    print(result)
    # the faults happened
    assert result["kills"] == 5
    assert result["r429"] >= chaos.STORM, "the 429 storm reached the bot"
    assert result["gateway_closes"] >= 1
    assert result["smtp_dropped"] >= 1
    # every kind of output was expected and came exactly as expected
    kinds = result["by_kind"]
    assert set(kinds) >= {"broadcast", "campaign", "checkin", "reminder", "role"}, kinds
    assert all(k["expected"] > 0 and k["got"] == k["expected"] for k in kinds.values()), kinds
    assert result["lost_discord"] == 0 and result["dup_discord"] == 0, result
    assert result["checkins_missing"] == 0
    assert result["lost_email"] == 0 and result["expected_email"] > 0, result
    # a mail sent twice only when a kill fell between its 250 and the row marked sent
    assert result["dup_email"] == result["dup_email_window"], result
    assert result["unexpected_email"] == 0
