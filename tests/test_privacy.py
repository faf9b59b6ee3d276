"""Nothing identifying reaches the warehouse, the quarantine, the report or a log line."""

from __future__ import annotations

import csv
import io
import json
import logging
import re

from sqlalchemy import inspect, text

from tests.conftest import SAMPLES


def _identifying_values() -> set[str]:
    """Names, NHS numbers, full postcodes and free text exactly as the samples hold them."""
    values: set[str] = set()
    with (SAMPLES / "referrals_basic.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values |= {row["Client Name"], row["NHS Number"], row["Postcode"]}
    raw = (SAMPLES / "feedback_cp1252.csv").read_bytes().decode("cp1252")
    for row in csv.DictReader(io.StringIO(raw), delimiter=";"):
        values.add(row["Comments"])
    values.add("called back, all fine")  # the Notes column of contacts_report.xlsx
    return {v for v in values if v.strip()}


def _dump(engine) -> str:  # noqa: ANN001
    out = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(" | ".join(str(v) for v in row))
    return "\n".join(out)


def test_no_identifying_value_in_warehouse_reports_or_logs(engine, load, samples, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    reports = load(*samples)
    haystacks = {
        "warehouse": _dump(engine),
        "report": json.dumps([r.to_json() for r in reports]),
        "log": caplog.text,
    }
    secrets = _identifying_values()
    assert len(secrets) >= 20  # the check itself has teeth
    for where, hay in haystacks.items():
        for secret in secrets:
            assert secret not in hay, f"{secret!r} found in the {where}"
        # no NHS-number-shaped digits and no full postcode survive in any form
        assert not re.search(r"\b\d{3} ?\d{3} ?\d{4}\b", hay), where
        assert not re.search(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", hay), where


def test_client_ids_are_pseudonymised_with_the_key(engine, load, samples, monkeypatch) -> None:
    load(*samples)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT referral_id, client_key FROM referral")).all()
    by_ref = dict(keys)
    # R1001 and R1006 are the same client (C501): same key; others differ; no raw id kept.
    assert by_ref["R1001"] == by_ref["R1006"]
    assert len(set(by_ref.values())) == len(by_ref) - 1
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in by_ref.values())
    assert "C501" not in _dump(engine)
