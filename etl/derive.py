"""Per-entity canonicalisation: parsed columns in, one mart row per source row out.

Each function records its failures and warnings on the chunk result; rows with failures are
removed afterwards by the validator, so the functions derive every row as if it were good.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from etl import datetimes
from etl import parsers as p
from etl.applying import apply_unique
from etl.schema import APPOINTMENT_TYPES, HAPPENED_OUTCOMES


def _datetime(v, res, chunk, name: str) -> tuple[pd.Series, pd.Series, pd.Series]:  # noqa: ANN001
    """(UTC datetime64, London wall-clock datetime64, time known) of a datetime column."""
    local, known = v.parse_datetimes(res, chunk, name)
    return datetimes.london_to_utc(local), local, known


def _after_export(v, res, chunk, dates: pd.Series, column: str, what: str) -> None:  # noqa: ANN001
    """Quarantine rows dated (London date) after the export was made."""
    later = dates.map(lambda d: d is not None and d > v.export_date).astype(bool)
    v._fail(res, chunk, later, column, "future_date", f"{what} is dated after the export was made.")


_SENTINEL_HINT = r"1900|1899|0000|^[01]?(?:\.0*)?$"


def _no_date(chunk: pd.DataFrame, name: str) -> pd.Series:
    """Rows whose date column is blank or a sentinel meaning blank (01/01/1900...)."""
    if name not in chunk.columns:
        return pd.Series(True, index=chunk.index)
    raw = chunk[name]
    maybe = raw[raw.str.contains(_SENTINEL_HINT)].unique()  # cheap filter before parsing
    blank = [u for u in maybe if u == "" or p.is_blank_sentinel(u)]
    return raw.isin(blank)


def referrals(v, res, chunk: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    out = pd.DataFrame(index=chunk.index)
    out["referral_id"] = v.parse(res, chunk, "referral_id")
    client = v.parse(res, chunk, "client_id")
    out["client_key"] = apply_unique(client, lambda c: c and v.pseudonym("client:", c))[0]
    nhs = v.parse(res, chunk, "nhs_number")
    out["nhs_key"] = apply_unique(nhs, lambda n: n and v.pseudonym("nhs:", n))[0]
    utc, local, known = _datetime(v, res, chunk, "referral_received_at")
    out["received_at"] = utc
    out["received_date"] = local.dt.date.where(local.notna(), None)
    out["time_known"] = known
    out["referral_source"] = v.parse(res, chunk, "referral_source")
    dob = v.parse(res, chunk, "date_of_birth")
    age = v.parse(res, chunk, "age")
    ages = [
        a if a is not None else (p.age_on(b, d) if b is not None and d is not None else None)
        for a, b, d in zip(age, dob, out["received_date"], strict=True)
    ]
    bad_age = pd.Series([a is not None and a < 0 for a in ages], index=chunk.index)
    v._fail(
        res,
        chunk,
        bad_age,
        "date_of_birth",
        "invalid_date",
        "The date of birth is after the referral date.",
        show_value=False,
    )
    out["age_band"] = [p.age_band(a) if a is not None and a >= 0 else None for a in ages]
    out["gender"] = v.parse(res, chunk, "gender") if "gender" in chunk.columns else "X"
    out["ethnicity"] = v.parse(res, chunk, "ethnicity")
    out["postcode_district"] = v.parse(res, chunk, "postcode")
    out["status"] = v.parse(res, chunk, "status")
    out["discharged_on"] = v.parse(res, chunk, "discharged_at")
    out["discharge_reason"] = v.parse(res, chunk, "discharge_reason")
    early = pd.Series(
        [
            d is not None and r is not None and d < r
            for d, r in zip(out["discharged_on"], out["received_date"], strict=True)
        ],
        index=chunk.index,
    )
    v._fail(
        res,
        chunk,
        early,
        "discharged_at",
        "discharged_before_referral",
        "The discharge date is before the referral date.",
    )
    future = out["received_at"] > v.exported_at
    v._fail(
        res,
        chunk,
        future.astype(bool),
        "referral_received_at",
        "future_date",
        "The referral is dated after the export was made.",
    )
    _after_export(v, res, chunk, out["discharged_on"], "discharged_at", "The discharge")
    return out


def contacts(v, res, chunk: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    out = pd.DataFrame(index=chunk.index)
    for name in ("contact_id", "referral_id", "contact_type"):
        out[name] = v.parse(res, chunk, name)
    out["scheduled_at"], sched_local, _ = _datetime(v, res, chunk, "scheduled_at")
    out["occurred_at"], occ_local, _ = _datetime(v, res, chunk, "occurred_at")
    local = occ_local.where(occ_local.notna(), sched_local)
    out["activity_on"] = local.dt.date.where(local.notna(), None)
    for name in ("duration_minutes", "method", "outcome", "practitioner"):
        out[name] = v.parse(res, chunk, name)
    no_sched = _no_date(chunk, "scheduled_at")
    neither = no_sched & _no_date(chunk, "occurred_at")
    v._fail(
        res,
        chunk,
        neither,
        "occurred_at",
        "missing_required",
        "The contact has neither a booked date nor a date it happened.",
    )
    appointment = out["contact_type"].isin(APPOINTMENT_TYPES)
    v._fail(
        res,
        chunk,
        appointment & no_sched & ~neither,
        "scheduled_at",
        "missing_required",
        "An appointment needs the date it was booked for.",
    )
    when = out["occurred_at"].where(out["occurred_at"].notna(), out["scheduled_at"])
    happened = out["outcome"].isin(HAPPENED_OUTCOMES)
    future = happened & (when > v.exported_at)
    v._fail(
        res,
        chunk,
        future,
        "occurred_at",
        "future_date",
        "The contact is dated after the export was made, but its outcome says it happened.",
    )
    return out


def feedback(v, res, chunk: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    out = pd.DataFrame(index=chunk.index)
    ids = v.parse(res, chunk, "response_id")
    out["referral_id"] = v.parse(res, chunk, "referral_id")
    out["submitted_on"] = v.parse(res, chunk, "submitted_at")
    out["fft_response"] = v.parse(res, chunk, "fft_response")
    derived = []
    for rid, ref, day, fft in zip(
        ids, out["referral_id"], out["submitted_on"], out["fft_response"], strict=True
    ):
        if rid is not None:
            derived.append(rid)
            continue
        content = f"{ref}|{day}|{fft}"
        v._occurrences[content] += 1
        digest = hashlib.sha256(f"{content}|{v._occurrences[content]}".encode()).hexdigest()
        derived.append(f"anon-{digest[:24]}")
    out.insert(0, "response_id", derived)
    _after_export(v, res, chunk, out["submitted_on"], "submitted_at", "The response")
    return out


def outcomes(v, res, chunk: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    out = pd.DataFrame(index=chunk.index)
    out["referral_id"] = v.parse(res, chunk, "referral_id")
    out["measure"] = v.parse(res, chunk, "measure")
    out["administered_on"] = v.parse(res, chunk, "administered_at")
    items = [f"item_{i}" for i in range(1, 11)]
    for name in items:
        out[name] = v.parse(res, chunk, name)
    total = v.parse(res, chunk, "total")
    scores, prorated, ranges, mismatch = [], [], [], []
    for row, given in zip(out[["measure", *items]].itertuples(index=False), total, strict=True):
        measure, values = row[0], list(row[1:])
        score, pro, ok = score_measure(measure, values)
        scores.append(score)
        prorated.append(pro)
        ranges.append(None if ok else _first_out_of_range(measure, values))
        if given is not None and score is not None:
            mismatch.append(round(score, 1) != round(given, 1) if pro else score != given)
        else:
            mismatch.append(False)
    ranges = pd.Series(ranges, index=chunk.index, dtype=object)
    for item in ranges.dropna().unique():
        v._fail(
            res,
            chunk,
            ranges == item,
            item,
            "out_of_range",
            "An item score is outside the range the questionnaire allows.",
        )
    v._warn(
        res,
        chunk,
        pd.Series(mismatch, index=chunk.index),
        "total",
        "total_mismatch",
        "The total in the export differs from the score computed from the items.",
    )
    out["score"] = scores
    out["prorated"] = prorated
    _after_export(v, res, chunk, out["administered_on"], "administered_at", "The questionnaire")
    return out


ITEM_RANGES = {"core10": (0, 4), "swemwbs": (1, 5)}


def _first_out_of_range(measure: str, values: list[int | None]) -> str:
    lo, hi = ITEM_RANGES[measure]
    first = next(i for i, x in enumerate(values) if x is not None and not lo <= x <= hi)
    return f"item_{first + 1}"


def score_measure(measure: str | None, items: list[int | None]) -> tuple[float | None, bool, bool]:
    """(score, prorated, items in range). CORE-10: items 0-4, 2 and 3 reversed, prorated x10/9
    with exactly one missing, no score with more missing. SWEMWBS: 7 items 1-5, raw sum."""
    if measure == "core10":
        vals = items[:10]
        if any(x is not None and not 0 <= x <= 4 for x in vals):
            return None, False, False
        scored = [4 - x if i in (1, 2) and x is not None else x for i, x in enumerate(vals)]
        present = [x for x in scored if x is not None]
        if len(present) == 10:
            return float(sum(present)), False, True
        if len(present) == 9:
            return sum(present) * 10 / 9, True, True
        return None, False, True
    if measure == "swemwbs":
        vals = items[:7]
        if any(x is not None and not 1 <= x <= 5 for x in vals):
            return None, False, False
        return (float(sum(vals)) if all(x is not None for x in vals) else None), False, True
    return None, False, True
