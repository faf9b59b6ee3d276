"""One row of referral_fact per referral, from the per-referral minima the database gives:
the London calendar rules of kpis.md worked out in pandas, a column at a time.

Elapsed hours are UTC arithmetic; "days after the referral" are Europe/London calendar days;
a referral without a time uses days throughout (contact on or before the received date + 3
days is within 72 hours, and it matures when the received date + 3 days is over).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

ETHNIC_GROUPS = {
    **dict.fromkeys("ABC", "white"),
    **dict.fromkeys("DEFG", "mixed"),
    **dict.fromkeys("HJKL", "asian"),
    **dict.fromkeys("MNP", "black"),
    **dict.fromkeys("RS", "other"),
}
NOT_KNOWN = "not_known"
_WITHIN_HOURS = 72


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601").astype("datetime64[us]")


def _london_day(utc: pd.Series) -> pd.Series:
    """UTC instants -> the London calendar day they fall on (as midnight datetime64)."""
    local = utc.dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.tz_localize(None)
    return local.dt.normalize().astype("datetime64[us]")


def _london_midnight_utc(days: pd.Series) -> pd.Series:
    """London midnight at the start of each day, as UTC (never ambiguous in the UK)."""
    aware = days.dt.tz_localize("Europe/London", nonexistent="shift_forward", ambiguous=True)
    return aware.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def _month(days: pd.Series) -> pd.Series:
    return days.dt.strftime("%Y-%m").where(days.notna(), None)


def derive(frame: pd.DataFrame, watermark: dt.datetime) -> pd.DataFrame:
    """Per-referral minima from the database -> the rows of referral_fact; those settled by
    `watermark` are marked as counted in referral_cube."""
    out = pd.DataFrame({"referral_id": frame["referral_id"]})
    received = _utc(frame["received_at"])
    day = pd.to_datetime(frame["received_date"]).astype("datetime64[us]")
    known = frame["time_known"].astype(bool)
    out["received_at"], out["received_date"], out["time_known"] = received, day, known
    out["received_month"] = _month(day)
    out["referral_source"] = frame["referral_source"]
    out["age_band"] = frame["age_band"].fillna(NOT_KNOWN)
    out["gender"] = frame["gender"].fillna("X")
    out["ethnic_group"] = frame["ethnicity"].map(ETHNIC_GROUPS).fillna(NOT_KNOWN)
    out["postcode_district"] = frame["postcode_district"].fillna(NOT_KNOWN)
    out["status"] = frame["status"]
    discharged = pd.to_datetime(frame["discharged_on"]).astype("datetime64[us]")
    out["discharged_on"], out["discharged_month"] = discharged, _month(discharged)

    hours72 = pd.Timedelta(hours=_WITHIN_HOURS)
    out["contact_due_at"] = received + hours72
    out.loc[~known, "contact_due_at"] = _london_midnight_utc(day + pd.Timedelta(days=4))[~known]
    for first, within in (
        ("first_contact_at", "contact_within"),
        ("first_attempt_at", "attempt_within"),
    ):
        at = _utc(frame[first])
        by_clock = (at - received) <= hours72
        by_day = _london_day(at) <= day + pd.Timedelta(days=3)
        out[first] = at
        out[within] = by_clock.where(known, by_day).astype(object).where(at.notna(), None)
        if first == "first_contact_at":
            minutes = ((at - received).dt.total_seconds() / 60).round().clip(lower=0)
            out["contact_minutes"] = minutes.where(known & at.notna()).astype("Int64")
    week = day + pd.Timedelta(days=7)
    out["appt_due_on"] = week
    appt_day = _london_day(_utc(frame["first_appt_at"]))
    out["first_appt_on"] = appt_day
    out["appt_within"] = (appt_day <= week).astype(object).where(appt_day.notna(), None)
    attended = _utc(frame["first_attended_at"])
    out["first_attended_at"] = attended
    out["attended_within"] = (
        (_london_day(attended) <= week).astype(object).where(attended.notna(), None)
    )
    out["sessions"] = pd.to_numeric(frame["sessions"]).fillna(0).astype(np.int64)
    contacted = _utc(frame["first_contact_at"])
    out["contact_known_at"] = contacted.where(contacted > received, received).where(
        out["contact_minutes"].notna()
    )
    out["settled_at"] = _settled_at(out, contacted, attended, discharged)
    out["in_cube"] = out["settled_at"].le(pd.Timestamp(watermark)).fillna(False).astype(bool)
    # CORE-10: first and last scorable administrations at least 14 days apart, and whether
    # the score fell by 6 or more (prorated scores are not rounded: a 5.89 fall is not 6).
    first_on, last_on = pd.to_datetime(frame["first_on"]), pd.to_datetime(frame["last_on"])
    pair = ((last_on - first_on) >= pd.Timedelta(days=14)).fillna(False).astype(bool)
    fall = pd.to_numeric(frame["first_score"]) - pd.to_numeric(frame["last_score"])
    out["core10_pair"] = pair
    out["core10_improved"] = pair & (fall >= 6).fillna(False).astype(bool)
    return out


def _settled_at(
    out: pd.DataFrame, contacted: pd.Series, attended: pd.Series, discharged: pd.Series
) -> pd.Series:
    """When nothing about the referral depends on as_of any more: the latest of its receipt,
    72-hour maturity, first contact, the end of its first week (London), a first attended
    appointment within that week, and its discharge day. None while it may still be waiting:
    open (or no status), never contacted and not discharged."""
    week_over = _london_midnight_utc(out["appt_due_on"])
    candidates = [
        out["received_at"],
        out["contact_due_at"],
        contacted,
        week_over,
        attended.where(out["attended_within"].eq(True)),
        _london_midnight_utc(discharged),
    ]
    settled = pd.concat(candidates, axis=1).max(axis=1)
    open_status = out["status"].isna() | out["status"].eq("open")
    waiting = contacted.isna() & discharged.isna() & open_status
    return settled.where(~waiting).astype("datetime64[us]")
