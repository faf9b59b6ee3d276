"""The baseline bench/kpis.py measures the engine against: read the marts into pandas, then
compute the headline figures of kpis.md there (overall, by month and by source), as an analyst
with a notebook would. Deliberately straightforward; its figures must equal the engine's."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

ATTENDED = ["attended", "late_seen"]
METHODS = ["face_to_face", "telephone", "video", "talk_type"]
APPOINTMENTS = ["assessment", "peer_session", "group_session"]


def _london_day(utc: pd.Series) -> pd.Series:
    local = utc.dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.tz_localize(None)
    return local.dt.normalize()


def headline(engine, exported_at: dt.datetime) -> dict:  # noqa: ANN001
    ref = pd.read_sql("SELECT * FROM referral", engine)
    con = pd.read_sql("SELECT * FROM contact", engine)
    fb = pd.read_sql("SELECT * FROM feedback", engine)
    pd.read_sql("SELECT * FROM outcome", engine)  # the baseline reads every mart
    as_of = pd.Timestamp(exported_at.replace(tzinfo=None)).tz_localize("Europe/London")
    as_of = as_of.tz_convert("UTC").tz_localize(None)
    as_of_day = pd.Timestamp(exported_at.date())

    for col in ("received_at",):
        ref[col] = pd.to_datetime(ref[col])
    ref["received_date"] = pd.to_datetime(ref["received_date"])
    ref["discharged_on"] = pd.to_datetime(ref["discharged_on"])
    ref = ref[(ref["status"] != "duplicate") & (ref["received_at"] <= as_of)].copy()
    ref["time_known"] = ref["time_known"].astype(bool)
    for col in ("scheduled_at", "occurred_at"):
        con[col] = pd.to_datetime(con[col])
    con = con[con["referral_id"].isin(ref["referral_id"]) & ~con["orphan"].astype(bool)]
    when = con["occurred_at"].fillna(con["scheduled_at"])
    booked = con["scheduled_at"].fillna(con["occurred_at"])

    qualifying = con["outcome"].isin(ATTENDED) & con["method"].isin(METHODS)
    first = when[qualifying].groupby(con.loc[qualifying, "referral_id"]).min()
    ref["first"] = ref["referral_id"].map(first)
    hours = (ref["first"] - ref["received_at"]).dt.total_seconds() / 3600
    within = np.where(
        ref["time_known"],
        hours <= 72,
        _london_day(ref["first"]) <= ref["received_date"] + pd.Timedelta(days=3),
    )
    contacted = ref["first"].notna() & (ref["first"] <= as_of)
    due = np.where(
        ref["time_known"],
        ref["received_at"] + pd.Timedelta(hours=72) <= as_of,
        as_of_day > ref["received_date"] + pd.Timedelta(days=3),
    )
    c72_num = int((contacted & within).sum())
    c72_den = int((due | contacted).sum())
    minutes = ((hours * 60).round().clip(lower=0))[contacted & ref["time_known"]]
    median = round(float(np.median(minutes)) / 60, 1) if len(minutes) else None

    appt = con["contact_type"].isin(APPOINTMENTS)
    offered = appt & (con["outcome"] != "cancelled_by_service")
    first_appt = booked[offered].groupby(con.loc[offered, "referral_id"]).min()
    appt_day = _london_day(ref["referral_id"].map(first_appt))
    week = ref["received_date"] + pd.Timedelta(days=7)
    has = appt_day <= week
    appt_den = int(((week <= as_of_day) | has).sum())

    con_day = pd.to_datetime(con["activity_on"])
    seen = appt & con["outcome"].isin(ATTENDED) & (con_day <= as_of_day)
    dna = appt & (con["outcome"] == "dna") & (con_day <= as_of_day)
    late = appt & (con["outcome"] == "late_not_seen") & (con_day <= as_of_day)
    fb = fb[pd.to_datetime(fb["submitted_on"]) <= as_of_day]
    positive = fb["fft_response"].isin(["very_good", "good"])

    open_ = (ref["discharged_on"].isna() & ref["status"].fillna("open").eq("open")) | (
        ref["discharged_on"] > as_of_day
    )
    by_month = ref.groupby(ref["received_date"].dt.strftime("%Y-%m")).size()
    by_source = ref.groupby("referral_source").size()
    assert by_month.sum() == by_source.sum() == len(ref)
    return {
        "referrals": len(ref),
        "contact_72h": [c72_num, c72_den],
        "appt_offered_7d": [int(has.sum()), appt_den],
        "hours_median": median,
        "sessions": int(seen.sum()),
        "dna_rate": [int(dna.sum()), int(seen.sum() + late.sum() + dna.sum())],
        "fft_positive": [int(positive.sum()), len(fb)],
        "waiting_now": int((open_ & ~contacted).sum()),
    }
