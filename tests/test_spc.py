"""XmR charts by the Making Data Count method (kpi/spc.py; spec kpis.md, "SPC").

Every expected number is worked by hand in the comments (MR = moving range, aMR = mean MR;
limits = mean ± 2.66 aMR, two sigma = mean ± 1.773 aMR). Series are monthly percentages from
April 2024 unless a test says otherwise.
"""

from __future__ import annotations

import json

import pytest

from kpi.spc import ICONS, read_series, xmr

# contact_72h-like; mean 465/5 = 93; MRs 3, 4, 3, 1 -> aMR 11/4 = 2.75;
# limits 93 ± 2.66 × 2.75 = 93 ± 7.315; two sigma 93 ± 1.773 × 2.75 = 93 ± 4.87575.
SMALL = [92.0, 95.0, 91.0, 94.0, 93.0]

# fft_positive baseline used by the two-of-three tests: sum 810, MRs all 1 (eight of them).
BASE = [90.0, 91.0, 92.0, 91.0, 90.0, 89.0, 88.0, 89.0, 90.0]


def monthly(values: list[float | None], start: str = "2024-04") -> list[tuple[str, float | None]]:
    year, month = map(int, start.split("-"))
    out = []
    for value in values:
        out.append((f"{year:04d}-{month:02d}", value))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def special(result: dict) -> dict[int, tuple[list[str], str]]:
    """Index of each special-cause point -> (rules, variation)."""
    return {
        i: (p["rules"], p["variation"])
        for i, p in enumerate(result["points"])
        if p["special_cause"]
    }


# --- limits -----------------------------------------------------------------------------------


def test_limits_worked_by_hand() -> None:
    result = xmr(monthly(SMALL), "up")
    assert result["mean"] == 93.0
    assert result["lower"] == pytest.approx(85.685)  # 93 - 7.315
    assert result["upper"] == pytest.approx(100.315)  # 93 + 7.315
    assert result["lower_2sigma"] == pytest.approx(88.12425)  # 93 - 4.87575
    assert result["upper_2sigma"] == pytest.approx(97.87575)
    assert result["trial"] is True  # 5 points
    assert special(result) == {}
    assert [p["variation"] for p in result["points"]] == ["common_cause"] * 5
    assert result["variation_icon"] == "common_cause"
    first = result["points"][0]
    assert first["period"] == "2024-04" and first["value"] == 92.0
    assert (first["mean"], first["lower"], first["upper"]) == (
        93.0,
        pytest.approx(85.685),
        pytest.approx(100.315),
    )
    assert result["segments"] == [
        {
            "from": "2024-04",
            "to": "2024-08",
            "mean": 93.0,
            "lower": pytest.approx(85.685),
            "upper": pytest.approx(100.315),
            "lower_2sigma": pytest.approx(88.12425),
            "upper_2sigma": pytest.approx(97.87575),
            "trial": True,
            "reason": None,
        }
    ]


def test_point_exactly_on_the_upper_limit_is_not_outside() -> None:
    # sum 636.7 + 95.3 = 732 -> mean 91.5; MRs 2.2, 1.0, 0.6, 0, 0.7, 0.2, 5.3 = 10 -> aMR 10/7;
    # upper = 91.5 + 2.66 × 10/7 = 91.5 + 3.8 = 95.3 exactly (floating point alone would not
    # land on it exactly). Two sigma = 91.5 + 17.73/7 = 94.0329: 95.3 is beyond, but 90.2 and
    # 90.0 before it are below the mean, so no two-of-three.
    values = [92.7, 90.5, 91.5, 90.9, 90.9, 90.2, 90.0, 95.3]
    result = xmr(monthly(values), "up")
    assert result["upper"] == 95.3
    assert result["lower"] == pytest.approx(87.7)
    assert special(result) == {}
    # One tenth higher: mean 732.1/8 = 91.5125, aMR 10.1/7, upper = 91.5125 + 26.866/7 = 95.3505.
    values[-1] = 95.4
    result = xmr(monthly(values), "up")
    assert result["upper"] == pytest.approx(95.3505)
    assert special(result) == {7: (["outside_limits"], "improvement")}


# --- rule 1: outside the limits -----------------------------------------------------------------

# contact_72h: sum 1104 -> mean 92; MRs 2,1,2,2,1,2,1,2,1,1,17 = 32 -> aMR 32/11;
# lower = 92 - 2.66 × 32/11 = 92 - 85.12/11 = 84.2618; 76 is below it. No run (92 sits on the mean
# at points 1 and 7, and 76 is alone below), no trend, and no two-of-three (76's windows mix sides).
OUTSIDE_LOW = [92.0, 94, 93, 95, 93, 94, 92, 93, 95, 94, 93, 76]


def test_outside_limits_fires() -> None:
    result = xmr(monthly(OUTSIDE_LOW), "up")
    assert result["mean"] == 92.0
    assert result["lower"] == pytest.approx(92 - 85.12 / 11)
    assert special(result) == {11: (["outside_limits"], "concern")}


# --- rule 2: runs -------------------------------------------------------------------------------


def test_run_of_seven_above_the_mean_fires() -> None:
    # dna_rate (lower is better): sum 36 + 76 = 112 -> mean 28/3 = 9.333; every MR 2 -> aMR 2;
    # limits 9.333 ± 5.32 = 4.013 .. 14.653, two sigma 5.787 .. 12.879: nothing beyond either.
    # The last seven (10..12) are above the mean: a run, and high is a concern for dna_rate.
    result = xmr(monthly([8.0, 6, 8, 6, 8, 10, 12, 10, 12, 10, 12, 10]), "down")
    assert result["mean"] == pytest.approx(28 / 3)
    assert result["upper"] == pytest.approx(28 / 3 + 5.32)
    assert special(result) == {i: (["run"], "concern") for i in range(5, 12)}
    assert result["variation_icon"] == "concern_high"


def test_every_point_of_a_longer_run_is_flagged() -> None:
    # sum 28 + 88 = 116 -> mean 9.667; MRs 2,2,2,4, then 2 × 7 = 24 -> aMR 24/11 = 2.18;
    # two sigma 9.667 ± 3.868 = 5.798 .. 13.535: nothing beyond. Eight points above: all flagged.
    result = xmr(monthly([8.0, 6, 8, 6, 10, 12, 10, 12, 10, 12, 10, 12]), "down")
    assert sorted(special(result)) == list(range(4, 12))


def test_run_of_six_does_not_fire() -> None:
    # sum 42 + 66 = 108 -> mean 9; every MR 2 -> aMR 2; six below then six above: no run.
    result = xmr(monthly([6.0, 8, 6, 8, 6, 8, 10, 12, 10, 12, 10, 12]), "down")
    assert result["mean"] == 9.0
    assert special(result) == {}


def test_point_exactly_on_the_mean_breaks_a_run() -> None:
    # sum 442.7 + 274.7 + 90.2 + 274.8 = 1082.4 -> mean 90.2 exactly, which is point 9.
    # (Summing the floats gives 90.19999999999999, which would put 90.2 above the mean and make
    # points 6-12 a run of seven.) Here: three above, one on the mean, three above -> no run.
    # MRs 1.2,1.2,0.3,0.4,2.8,0.8,1.5,2.1,1.6,1.3,2.0 = 15.2 -> aMR 15.2/11 = 1.3818;
    # two sigma 90.2 ± 2.4500 = 87.750 .. 92.650: 88.1 and 92.5 are inside.
    values = [88.1, 89.3, 88.1, 88.4, 88.8, 91.6, 90.8, 92.3, 90.2, 91.8, 90.5, 92.5]
    result = xmr(monthly(values), "up")
    assert result["mean"] == 90.2
    assert result["upper_2sigma"] == pytest.approx(90.2 + 1.773 * 15.2 / 11)
    assert special(result) == {}
    # Off the mean (90.3: mean 1082.5/12 = 90.208, aMR 15/11, two sigma 87.79 .. 92.63) the
    # seven points are a run.
    values[8] = 90.3
    result = xmr(monthly(values), "up")
    assert special(result) == {i: (["run"], "improvement") for i in range(5, 12)}


# --- rule 3: trends -----------------------------------------------------------------------------


def test_trend_of_seven_points_fires() -> None:
    # sum 463 + 637 = 1100 -> mean 91.667; MRs 2,3,2,1,5,1,1,1,1,1,1 = 19 -> aMR 19/11 = 1.727;
    # limits 91.667 ± 4.594 = 87.07 .. 96.26; two sigma ± 3.062 = 88.60 .. 94.73 (88 is beyond,
    # 89 is not, 93 sits on the other side: no two-of-three). 88 -> 94: seven points, six rises.
    result = xmr(monthly([93.0, 91, 94, 92, 93, 88, 89, 90, 91, 92, 93, 94]), "up")
    assert result["mean"] == pytest.approx(1100 / 12)
    assert special(result) == {i: (["trend"], "improvement") for i in range(5, 12)}
    assert result["variation_icon"] == "improvement_high"


def test_trend_of_six_points_does_not_fire() -> None:
    # 89 -> 94 is six points (five rises). Mean 1104/12 = 92 (92 at point 6 is on it); aMR 17/11;
    # lower two sigma = 92 - 2.740 = 89.26: only 89 is beyond, its neighbours straddle the mean.
    result = xmr(monthly([93.0, 91, 94, 92, 93, 92, 89, 90, 91, 92, 93, 94]), "up")
    assert result["mean"] == 92.0
    assert special(result) == {}


def test_equal_neighbours_break_a_trend() -> None:
    # 88, 89, 90, 90, 91, 92, 93: seven points never falling, but 90 = 90 splits them into
    # rising runs of three and four. Mean 1096/12 = 91.333, aMR 18/11: two sigma ± 2.901,
    # 88.43 .. 94.23 — 88 is the only point beyond.
    result = xmr(monthly([93.0, 91, 94, 92, 93, 88, 89, 90, 90, 91, 92, 93]), "up")
    assert special(result) == {}


# --- rule 4: two of three beyond two sigma -----------------------------------------------------


def test_two_of_three_fires_and_flags_the_points_beyond_two_sigma() -> None:
    # sum 810 + 282 = 1092 -> mean 91; MRs 8 × 1 + 5 + 3 + 3 = 19 -> aMR 19/11;
    # upper two sigma = 91 + 1.773 × 19/11 = 91 + 33.687/11 = 94.0625;
    # upper limit = 91 + 50.54/11 = 95.5945. 95, 92, 95 are all above 91 and two are beyond
    # two sigma (inside the limits): flag the two 95s, not the 92.
    result = xmr(monthly([*BASE, 95, 92, 95]), "up")
    assert result["upper_2sigma"] == pytest.approx(91 + 33.687 / 11)
    assert result["upper"] == pytest.approx(91 + 50.54 / 11)
    assert special(result) == {
        9: (["two_of_three"], "improvement"),
        11: (["two_of_three"], "improvement"),
    }
    assert result["variation_icon"] == "improvement_high"


def test_one_of_three_beyond_two_sigma_does_not_fire() -> None:
    # sum 810 + 276 = 1086 -> mean 90.5; MRs 8 + 1 + 2 + 1 = 12 -> aMR 12/11;
    # two sigma = 90.5 + 21.276/11 = 92.434, limit = 90.5 + 31.92/11 = 93.402: 93 is beyond two
    # sigma (inside the limit), 91 and 92 are not.
    result = xmr(monthly([*BASE, 91, 93, 92]), "up")
    assert result["upper_2sigma"] == pytest.approx(90.5 + 21.276 / 11)
    assert special(result) == {}


def test_two_of_three_needs_all_three_on_the_same_side() -> None:
    # sum 810 + 282 = 1092 -> mean 91; MRs 8 + 5.5 + 5.5 + 6.5 = 25.5 -> aMR 51/22;
    # two sigma = 91 + 90.423/22 = 95.110, limit = 91 + 135.66/22 = 97.166: 95.5 and 96.5 are
    # beyond two sigma, but 90 between them is below the mean.
    result = xmr(monthly([*BASE, 95.5, 90, 96.5]), "up")
    assert result["upper_2sigma"] == pytest.approx(91 + 90.423 / 22)
    assert special(result) == {}


def test_two_of_three_counts_a_point_beyond_the_limits() -> None:
    # sum 810 + 282 = 1092 -> mean 91; MRs 8 + 4 + 2 + 4 = 18 -> aMR 18/11;
    # two sigma = 91 + 31.914/11 = 93.901, limit = 91 + 47.88/11 = 95.353.
    # 94 is beyond two sigma only, 96 beyond the limit; 92 is above the mean.
    result = xmr(monthly([*BASE, 94, 92, 96]), "up")
    assert result["upper"] == pytest.approx(91 + 47.88 / 11)
    assert special(result) == {
        9: (["two_of_three"], "improvement"),
        11: (["outside_limits", "two_of_three"], "improvement"),
    }


# --- direction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("improvement", "variation", "icon"),
    [("up", "concern", "concern_low"), ("down", "improvement", "improvement_low")]
    + [("neutral", "neutral", "neither_low")],
)
def test_direction_of_a_low_special_cause(improvement: str, variation: str, icon: str) -> None:
    result = xmr(monthly(OUTSIDE_LOW), improvement)
    assert special(result) == {11: (["outside_limits"], variation)}
    assert result["variation_icon"] == icon


@pytest.mark.parametrize(
    ("improvement", "variation", "icon"),
    [("up", "improvement", "improvement_high"), ("down", "concern", "concern_high")]
    + [("neutral", "neutral", "neither_high")],
)
def test_direction_of_a_high_special_cause(improvement: str, variation: str, icon: str) -> None:
    result = xmr(monthly([*BASE, 95, 92, 95]), improvement)  # two-of-three high, as above
    assert {v for _, v in special(result).values()} == {variation}
    assert result["variation_icon"] == icon


# --- conflicts: outside limits, trend, two of three, run ---------------------------------------


def test_outside_limits_beats_a_trend() -> None:
    # sum 543 + 652.8 = 1195.8 -> mean 91.985; MRs 1 × 5 + 8 + 4 + 2 + 1 + 0.5 + 0.3 + 0.1 = 20.9
    # -> aMR 20.9/12 = 1.7417; upper = 91.985 + 4.633 = 96.617: 99 is above it (high) and starts
    # a falling trend of seven (low). The limit comes first: 99 is an improvement; the rest of
    # the trend is a concern (95 is inside two sigma, 91.985 + 3.088 = 95.07).
    values = [90.0, 91, 90, 91, 90, 91, 99, 95, 93, 92, 91.5, 91.2, 91.1]
    result = xmr(monthly(values), "up")
    assert result["upper"] == pytest.approx(1195.8 / 13 + 2.66 * 20.9 / 12)
    assert special(result) == {
        6: (["outside_limits", "trend"], "improvement"),
        **{i: (["trend"], "concern") for i in range(7, 13)},
    }


def test_trend_beats_two_of_three() -> None:
    # sum 537 + 648.6 = 1185.6 -> mean 91.2; MRs 3 × 5 + 4 + 0.2 + 1.8 + 1 + 0.5 + 0.3 + 0.1 = 22.9
    # -> aMR 1.90833; two sigma = 91.2 + 3.3835 = 94.583, limit 96.276. 95 and 94.8 are beyond
    # two sigma with 93 above the mean (two of three, high) and start a falling trend (low).
    values = [88.0, 91, 88, 91, 88, 91, 95, 94.8, 93, 92, 91.5, 91.2, 91.1]
    result = xmr(monthly(values), "up")
    assert result["mean"] == pytest.approx(91.2)
    assert special(result) == {
        6: (["trend", "two_of_three"], "concern"),
        7: (["trend", "two_of_three"], "concern"),
        **{i: (["trend"], "concern") for i in range(8, 13)},
    }


# Rises 87 -> 93 (points 4-10) then falls 93 -> 87 (points 10-16): 93 ends one trend and starts
# the other. Sum 1527 -> mean 89.824; MRs 4, 4, 4 then 13 × 1 = 25 -> aMR 25/16 = 1.5625;
# limits 89.824 ± 4.156 = 85.67 .. 93.98 (93 inside); two sigma ± 2.770 = 87.05 .. 92.59 (93 and
# 87 beyond, but never two in three). Points 7-13 (90 .. 92 .. 90) are a run above the mean.
PEAK = [92.0, 88, 92, 88, 87, 88, 89, 90, 91, 92, 93, 92, 91, 90, 89, 88, 87]


def test_a_point_ending_one_trend_and_starting_another_takes_the_later() -> None:
    result = xmr(monthly(PEAK), "up")
    assert result["upper"] == pytest.approx(1527 / 17 + 2.66 * 25 / 16)
    found = special(result)
    assert sorted(found) == list(range(4, 17))
    assert found[10] == (["run", "trend"], "concern")  # the peak: falling, the later trend
    assert [found[i][1] for i in range(4, 10)] == ["improvement"] * 6
    assert [found[i][1] for i in range(11, 17)] == ["concern"] * 6
    assert result["variation_icon"] == "concern_low"
    # The reverse (mirror about 90): the trough takes the later, rising, trend.
    result = xmr(monthly([180 - v for v in PEAK]), "up")
    found = special(result)
    assert found[10] == (["run", "trend"], "improvement")
    assert [found[i][1] for i in range(4, 10)] == ["concern"] * 6
    assert result["variation_icon"] == "improvement_high"


def test_trend_beats_run() -> None:
    # In PEAK, points 11-13 (92, 91, 90) are above the mean (run: high) and falling (trend: low).
    found = special(xmr(monthly(PEAK), "up"))
    assert [found[i] for i in (11, 12, 13)] == [(["run", "trend"], "concern")] * 3
    assert found[14] == (["trend"], "concern")  # 89 < 89.824: below the mean, trend only


# --- assurance ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("improvement", "target", "icon"),
    [
        ("up", 85.0, "pass"),  # target below the lower limit 85.685
        ("up", 101.0, "fail"),  # above the upper limit 100.315
        ("up", 95.0, "hit_and_miss"),
        ("up", 85.685, "hit_and_miss"),  # on the limit is not below it
        ("down", 101.0, "pass"),
        ("down", 85.0, "fail"),
        ("down", 95.0, "hit_and_miss"),
        ("down", 100.315, "hit_and_miss"),
        ("neutral", 95.0, None),
        ("neutral", 85.0, None),
        ("up", None, None),
        ("down", None, None),
    ],
)
def test_assurance(improvement: str, target: float | None, icon: str | None) -> None:
    result = xmr(monthly(SMALL), improvement, target=target)  # limits 85.685 .. 100.315
    assert result["assurance_icon"] == icon
    assert result["target"] == target


# --- trial limits and rebasing ------------------------------------------------------------------

TWELVE = [92.0, 95, 91, 94, 93, 92, 94, 93, 91, 95, 93, 92]


def test_trial_limits_below_twelve_points() -> None:
    assert xmr(monthly(TWELVE[:11]))["trial"] is True
    result = xmr(monthly(TWELVE))
    assert result["trial"] is False
    assert result["segments"][0]["trial"] is False
    # Points without a value do not count towards the twelve.
    assert xmr(monthly([*TWELVE[:11], None, None]))["trial"] is True


# 2024-04 .. 2025-03 alternate 79, 81: mean 80, every MR 2 -> limits 80 ± 5.32, two sigma ± 3.546.
# 2025-04 .. 2026-03 alternate 88, 92: mean 90, every MR 4 -> limits 90 ± 10.64, two sigma ± 7.092.
# The boundary MR |81 - 88| = 7 belongs to neither; including it would give aMR 51/12 = 4.25.
SHIFT = [79.0, 81] * 6 + [88.0, 92] * 6
CHANGE = ("2025-04", "Second peer worker started")


def test_rebasing_gives_each_segment_its_own_limits() -> None:
    result = xmr(monthly(SHIFT), "up", target=85.0, rebase=[CHANGE])
    first, second = result["segments"]
    assert first == {
        "from": "2024-04",
        "to": "2025-03",
        "mean": 80.0,
        "lower": pytest.approx(74.68),
        "upper": pytest.approx(85.32),
        "lower_2sigma": pytest.approx(76.454),
        "upper_2sigma": pytest.approx(83.546),
        "trial": False,
        "reason": None,
    }
    assert second == {
        "from": "2025-04",
        "to": "2026-03",
        "mean": 90.0,
        "lower": pytest.approx(79.36),
        "upper": pytest.approx(100.64),
        "lower_2sigma": pytest.approx(82.908),
        "upper_2sigma": pytest.approx(97.092),
        "trial": False,
        "reason": "Second peer worker started",
    }
    # Top level: the current (last) segment; assurance against its limits: 85 is inside
    # 79.36 .. 100.64, although it is above the old upper limit 85.32.
    assert (result["mean"], result["upper"]) == (90.0, pytest.approx(100.64))
    assert result["assurance_icon"] == "hit_and_miss"
    assert result["points"][11]["mean"] == 80.0 and result["points"][12]["mean"] == 90.0
    assert special(result) == {}  # rules stay within each segment
    assert result["variation_icon"] == "common_cause"


def test_without_rebasing_the_shift_is_special_cause() -> None:
    # One segment: mean 85, every point on its side of it for twelve months -> runs throughout;
    # aMR = (22 + 7 + 44)/23 = 73/23.
    result = xmr(monthly(SHIFT), "up")
    assert result["mean"] == 85.0
    assert result["upper"] == pytest.approx(85 + 2.66 * 73 / 23)
    assert all("run" in p["rules"] for p in result["points"])


def test_rebasing_segments_are_trial_on_their_own_count() -> None:
    # Rebase at the 8th of 12 points: 7 then 5 points, both trial; the whole series is not.
    result = xmr(monthly(TWELVE), rebase=[("2024-11", "New referral form")])
    assert [(s["from"], s["to"], s["trial"]) for s in result["segments"]] == [
        ("2024-04", "2024-10", True),
        ("2024-11", "2025-03", True),
    ]
    # Segment two: 93, 91, 95, 93, 92 -> mean 464/5 = 92.8; MRs 2, 4, 2, 1 -> aMR 9/4.
    assert result["mean"] == pytest.approx(92.8)
    assert result["upper"] == pytest.approx(92.8 + 2.66 * 9 / 4)
    assert result["trial"] is True


def test_rebase_periods_are_sorted_and_compared_as_strings() -> None:
    rebase = [
        ("2026-01", "after the last point: no segment"),
        ("2024-11", "New referral form"),
        ("2024-01", "before the first point: names the first segment"),
        ("2024-10-15", "mid-month: starts with the next month"),
    ]
    result = xmr(monthly(TWELVE), rebase=rebase)
    assert [(s["from"], s["reason"]) for s in result["segments"]] == [
        ("2024-04", "before the first point: names the first segment"),
        ("2024-11", "New referral form"),
    ]
    result = xmr(monthly(TWELVE), rebase=[("2024-10-15", "mid-month")])
    assert [s["from"] for s in result["segments"]] == ["2024-04", "2024-11"]


# --- missing values -----------------------------------------------------------------------------


def test_missing_values_are_kept_but_not_calculated() -> None:
    # The values are SMALL with gaps: mean 93, aMR 11/4 as worked above (MR 92 -> 95 spans a gap).
    points = monthly([92.0, None, 95, 91, None, 94, 93, None])
    result = xmr(points, "up")
    assert result["mean"] == 93.0
    assert result["upper"] == pytest.approx(100.315)
    gap = result["points"][1]
    assert gap == {
        "period": "2024-05",
        "value": None,
        "mean": 93.0,
        "lower": pytest.approx(85.685),
        "upper": pytest.approx(100.315),
        "special_cause": False,
        "rules": [],
        "variation": None,
    }
    assert result["variation_icon"] == "common_cause"  # from 93, the last point with a value
    assert result["trial"] is True


def test_a_run_continues_across_a_missing_month() -> None:
    values: list[float | None] = [8.0, 6, 8, 6, 8, 10, 12, 10, None, 12, 10, 12, 10]
    result = xmr(monthly(values), "down")  # the run series above with a gap in the run
    assert sorted(special(result)) == [5, 6, 7, 9, 10, 11, 12]
    assert result["points"][8]["variation"] is None


@pytest.mark.parametrize("values", [[], [None, None], [None, 91.0]])
def test_fewer_than_two_values_give_no_limits(values: list[float | None]) -> None:
    result = xmr(monthly(values), "up", target=90.0)
    for key in ("mean", "lower", "upper", "lower_2sigma", "upper_2sigma"):
        assert result[key] is None
    assert result["variation_icon"] is None and result["assurance_icon"] is None
    assert result["trial"] is True
    assert not any(p["special_cause"] for p in result["points"])
    assert len(result["points"]) == len(values)


# --- output -------------------------------------------------------------------------------------


def test_icons_carry_letters_and_labels() -> None:
    assert {code: icon["letter"] for code, icon in ICONS.items()} == {
        "common_cause": "",
        "improvement_high": "H",
        "improvement_low": "L",
        "concern_high": "H",
        "concern_low": "L",
        "neither_high": "H",
        "neither_low": "L",
        "pass": "P",
        "fail": "F",
        "hit_and_miss": "?",
    }
    assert ICONS["improvement_high"]["label"] == "Special cause variation — improvement (higher)"
    assert ICONS["concern_low"]["label"] == "Special cause variation — concern (lower)"
    assert len({icon["label"] for icon in ICONS.values()}) == len(ICONS)


def test_result_is_json_serialisable() -> None:
    rebase = [("2024-10", "New referral form")]
    result = xmr(monthly([*OUTSIDE_LOW, None]), "up", target=95.0, rebase=rebase)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert result["variation_icon"] in ICONS and result["assurance_icon"] in ICONS


def test_a_rebase_with_no_values_yet_has_no_limits_or_icons() -> None:
    # Rebased from 2025-04, whose value has not arrived: the current segment has no limits.
    result = xmr(monthly([*OUTSIDE_LOW, None]), "up", target=95.0, rebase=[CHANGE])
    assert result["segments"][-1]["from"] == "2025-04" and result["mean"] is None
    assert result["variation_icon"] is None and result["assurance_icon"] is None
    assert result["segments"][0]["mean"] == 92.0


def test_nan_is_a_missing_value() -> None:
    result = xmr(monthly([*SMALL, float("nan")]))
    assert result["points"][-1]["value"] is None
    assert result["mean"] == 93.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": monthly(SMALL), "improvement": "higher"}, "improvement must be"),
        ({"points": [("2024-05", 90.0), ("2024-04", 91.0)]}, "period order"),
        ({"points": [("2024-04", 90.0), ("2024-04", 91.0)]}, "period order"),
        ({"points": [("2024-04", 90.0), ("2024-05", float("inf"))]}, "not a finite number"),
    ],
)
def test_bad_input_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        xmr(**kwargs)


# --- read_series --------------------------------------------------------------------------------


def test_read_series_with_header_and_blank_values() -> None:
    text = "\ufeffmonth,contact_72h\n2025-01,91.5\n\n2025-02,\n 2025-03 , 93 \n"
    assert read_series(text) == [("2025-01", 91.5), ("2025-02", None), ("2025-03", 93.0)]


def test_read_series_without_header() -> None:
    assert read_series("2025-01,91.5\r\n2025-02,88\r\n") == [("2025-01", 91.5), ("2025-02", 88.0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("period,value\n2025-01,91.5\n2025-02,n/a\n", "line 3: value 'n/a' for 2025-02"),
        ("2025-01,ninety\n", "line 1: value 'ninety'"),
        ("period,value\n2025-01,nan\n", "line 2: value 'nan'"),
        ("period,value\n2025-01,91.5,extra\n", "line 2: expected two columns"),
        ("period,value\n2025-01\n", "line 2: expected two columns"),
    ],
)
def test_read_series_names_the_bad_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_series(text)
