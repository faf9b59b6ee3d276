"""The measures of kpis.md: id, name, what kind of figure, its better direction, and settings.

Kinds decide how a figure is derived from its counts (and what disclosure control does to it):
``rate`` (numerator / denominator, a percentage), ``count`` (a number of things), ``stat``
(median and 90th percentile over ``n``), ``mean`` (mean and median over ``n``).
"""

from __future__ import annotations

from dataclasses import dataclass

from etl import settings

DIMENSIONS = ("referral_source", "age_band", "gender", "ethnicity", "postcode_district")


@dataclass(frozen=True)
class Measure:
    id: str
    name: str
    kind: str
    direction: str  # up | down | neutral: which way is better (SPC's improvement)
    period: str  # what a month of it groups by
    charted: bool = False  # shown as an SPC chart


MEASURES: tuple[Measure, ...] = (
    Measure("referrals", "Referrals received", "count", "neutral", "received"),
    Measure("contact_72h", "Contacted within 72 hours", "rate", "up", "received", True),
    Measure("contact_attempt_72h", "Contact attempted within 72 hours", "rate", "up", "received"),
    Measure("hours_to_contact", "Hours to first contact", "stat", "down", "received"),
    Measure("appt_offered_7d", "Appointment offered within a week", "rate", "up", "received", True),
    Measure(
        "appt_attended_7d", "First appointment attended within a week", "rate", "up", "received"
    ),
    Measure("sessions", "Sessions delivered", "count", "up", "occurred", True),
    Measure("dna_rate", "Did-not-attend rate", "rate", "down", "occurred", True),
    Measure("session_90min", "90-minute sessions", "rate", "up", "occurred"),
    Measure(
        "sessions_per_referral", "Sessions per closed referral", "mean", "neutral", "discharged"
    ),
    Measure("fft_positive", "Feedback positive", "rate", "up", "submitted", True),
    Measure("fft_negative", "Feedback negative", "rate", "down", "submitted"),
    Measure("core10_improvement", "Reliable improvement (CORE-10)", "rate", "up", "discharged"),
    Measure("waiting_now", "Waiting for first contact", "count", "down", "received"),
)
BY_ID = {m.id: m for m in MEASURES}
# Referral-based measures: broken down by every dimension.
REFERRAL_BASED = (
    "referrals",
    "contact_72h",
    "contact_attempt_72h",
    "hours_to_contact",
    "appt_offered_7d",
    "appt_attended_7d",
    "sessions_per_referral",
    "core10_improvement",
    "waiting_now",
)


class SettingError(ValueError):
    """A KPI setting is malformed; the message names the setting and the bad part."""


def _pairs(name: str, sep: str = ",") -> list[tuple[str, str]]:
    out = []
    for part in filter(None, (p.strip() for p in settings.get(name).split(sep))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise SettingError(f"{name}: '{part}' is not of the form name=value.")
        out.append((key.strip(), value.strip()))
    return out


def _known(name: str, measure: str) -> str:
    if measure not in BY_ID:
        raise SettingError(f"{name}: there is no measure called '{measure}'.")
    return measure


def targets() -> dict[str, float]:
    """Targets in percent (or count) from SIS_KPI_TARGETS."""
    out = {}
    for key, value in _pairs("SIS_KPI_TARGETS"):
        measure = _known("SIS_KPI_TARGETS", key)
        try:
            out[measure] = float(value)
        except ValueError:
            raise SettingError(f"SIS_KPI_TARGETS: '{value}' is not a number.") from None
    return out


def directions() -> dict[str, str]:
    out = {m.id: m.direction for m in MEASURES}
    for key, value in _pairs("SIS_KPI_DIRECTIONS"):
        if value not in ("up", "down", "neutral"):
            raise SettingError(f"SIS_KPI_DIRECTIONS: '{value}' is not up, down or neutral.")
        out[_known("SIS_KPI_DIRECTIONS", key)] = value
    return out


def rebase() -> dict[str, list[tuple[str, str]]]:
    """{measure: [(YYYY-MM, reason), ...]} from SIS_SPC_REBASE."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key, reason in _pairs("SIS_SPC_REBASE", ";"):
        measure, at, month = key.partition("@")
        if not at or len(month) != 7 or month[4] != "-" or not reason:
            raise SettingError(
                f"SIS_SPC_REBASE: '{key}={reason}' is not of the form measure@YYYY-MM=reason."
            )
        out.setdefault(_known("SIS_SPC_REBASE", measure), []).append((month, reason))
    return {k: sorted(v) for k, v in out.items()}
