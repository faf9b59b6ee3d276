"""The memo of report parts (kpi/memo.py) changes no figure: a report built with it equals the
report built without it, whatever filters came before, and a new load is never answered from
parts of the old data."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from etl import runner
from etl.demo import write_demo_exports
from kpi.memo import Memo
from kpi.report import build_report, months_between

EXPORTED = dt.datetime(2026, 10, 31, 17, 30)


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@pytest.fixture
def exports(tmp_path):  # noqa: ANN001, ANN201
    return write_demo_exports(tmp_path / "exports", referrals=500, seed=31, months=14, shapes="csv")


def test_reports_with_the_memo_equal_reports_without_it(engine, exports) -> None:
    assert all(r.status == "loaded" for r in runner.run(engine, exports, exported_at=EXPORTED))
    first = build_report(engine)["period"]["from"]
    months = months_between(first, "2026-10")
    rng = random.Random(4)
    memo = Memo()
    filters = [(None, None, None), (None, None, "gp"), (months[-1], months[-1], None)]
    for _ in range(14):
        i, j = sorted(rng.sample(range(len(months)), 2))
        filters.append((months[i], months[j], rng.choice([None, "gp", "self", "urgent_care"])))
    filters.append((None, months[3], "self"))  # open at one end
    filters.append((months[-3], None, None))
    earlier = dt.datetime(2026, 9, 15, 12, 0)  # before the newest export: no cube
    for month_from, month_to, source in filters:
        for audience in ("manager", "commissioner"):
            for as_of in (None, earlier):
                args = (as_of, audience, month_from, month_to, source)
                kept = build_report(engine, *args, memo=memo)
                assert _same(kept, build_report(engine, *args)), args
    assert memo.hits > 100  # the parts were really used again, not recomputed every time
    assert len(memo) > 20


def test_a_new_load_is_never_answered_from_the_old_parts(engine, exports) -> None:
    contacts = [p for p in exports if p.name.startswith("contacts")]
    others = [p for p in exports if p not in contacts]
    assert all(r.status == "loaded" for r in runner.run(engine, others, exported_at=EXPORTED))
    memo = Memo()
    views = [(None, None, None), ("2026-03", "2026-08", "gp"), ("2026-06", "2026-06", None)]
    before = [build_report(engine, None, "manager", *v, memo=memo) for v in views]
    # The same export time: only the data version tells the two loads apart.
    assert all(r.status == "loaded" for r in runner.run(engine, contacts, exported_at=EXPORTED))
    for view, old in zip(views, before, strict=True):
        new = build_report(engine, None, "manager", *view, memo=memo)
        assert new["as_of"] == old["as_of"]
        assert _same(new, build_report(engine, None, "manager", *view))
        assert new["measures"]["sessions"]["value"] > old["measures"]["sessions"]["value"]
        assert not _same(new["measures"]["hours_to_contact"], old["measures"]["hours_to_contact"])


def test_the_memo_keeps_at_most_its_size_newest_first() -> None:
    memo = Memo(size=3)
    for n in range(5):
        assert memo.get(("part", n), lambda n=n: n * 10) == n * 10
    assert len(memo) == 3
    assert memo.known(("part", 0)) is None  # the oldest went first
    assert memo.get(("part", 4), lambda: -1) == 40  # kept: not computed again
    assert (memo.hits, memo.misses) == (1, 5)
