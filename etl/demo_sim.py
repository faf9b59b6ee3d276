"""Seeded, vectorised simulation of the Self-Injury Service behind ``etl.demo``.

Times are integer minutes of Europe/London wall-clock time since 00:00 on the first day of the
window (naive local time, as a case-management system records it); days are ``minutes // 1440``.
``NA`` marks a blank integer. Referral ``i`` gets its date from a stratified draw through the
daily-volume CDF, so dates rise with the referral number whatever the chunking; person-level
attributes (gender, ethnicity, date of birth, postcode, NHS number, name) come from a counter
hash of the client number, so a re-referred client keeps them. Everything else is drawn from a
``numpy`` generator seeded with ``(seed, chunk)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

NA = np.iinfo(np.int64).min
DAY = 1440
ATTEMPT, FIRST, ASSESS, PEER, GROUP = range(5)  # contact types
ATTENDED, LATE, DNA, CL_CANC, SV_CANC, NO_ANSWER, VOICEMAIL, FUTURE = range(8)  # outcomes
F2F, PHONE, VIDEO, TEXT = range(4)  # methods
OPEN, CLOSED, DECLINED, WITHDRAWN, DUPLICATE = range(5)  # statuses
COMPLETED, CLIENT_ENDED, NO_CONTACT, REFERRED_ON, OTHER = range(5)  # discharge reasons
SOURCES = ("self", "gp", "iapt", "urgent_care", "ae", "vcse", "other")
SOURCE_P = (0.30, 0.25, 0.20, 0.12, 0.08, 0.03, 0.02)
GENDER_P = (0.68, 0.24, 0.04, 0.005, 0.015, 0.02)  # F, M, non-binary, other, not stated, blank
ETHNIC = ("A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99")
ETHNIC_P = (
    0.72,
    0.01,
    0.06,
    0.015,
    0.005,
    0.01,
    0.01,
    0.015,
    0.015,
    0.005,
    0.01,
    0.015,
    0.02,
    0.005,
    0.005,
    0.01,
    0.03,
    0.01,
)
DISTRICTS = tuple(f"BS{k}" for k in (*range(1, 17), *range(20, 42))) + ("BA1", "BA2")
SLOT_TIMES = np.array([570, 600, 660, 750, 810, 840, 900, 960, 1050, 1080])  # appointment starts
NSLOT = 14  # 3 attempts, first contact, assessment + rebooking, 8 sessions
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)


def hash_u(seed: int, stream: int, idx: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) floats from (seed, stream, idx) by splitmix64: stateless, chunk-free."""
    x = idx.astype(np.uint64) * _G + np.uint64((seed * 0x632BE5AB + stream * 0x85157AF5) % 2**64)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def pick(u: np.ndarray, p: tuple[float, ...]) -> np.ndarray:
    """Categorical codes from uniforms ``u`` with probabilities ``p``."""
    cdf = np.cumsum(p)
    return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(p) - 1)


@dataclass(frozen=True)
class Plan:
    n: int
    seed: int
    start: dt.date
    end: dt.date
    days: int
    step_day: int  # timeliness improves from this day on (extra peer worker)
    cdf: np.ndarray  # cumulative share of referrals by day
    clock_days: np.ndarray  # last Sundays of March and October in the window

    def weekday(self, day: np.ndarray) -> np.ndarray:
        return (self.start.weekday() + day) % 7


def make_plan(n: int, seed: int, months: int, end: dt.date) -> Plan:
    m0 = end.year * 12 + end.month - 1 - (months - 1)
    start = dt.date(m0 // 12, m0 % 12 + 1, 1)
    days = (end - start).days + 1
    d = np.arange(days)
    dates = np.datetime64(start) + d
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    mday = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    wday = (start.weekday() + d) % 7
    trend = 0.85 + 0.3 * d / max(days - 1, 1)
    season = np.array([1.05, 1.0, 1.0, 0.98, 1.0, 0.97, 0.92, 0.68, 1.0, 1.06, 1.05, 0.88])[month]
    week = np.array([1.12, 1.08, 1.05, 1.0, 0.95, 0.42, 0.38])[wday]
    holiday = np.where(
        ((month == 11) & (mday >= 25) & (mday <= 26)) | ((month == 0) & (mday == 1)), 0.3, 1.0
    )
    w = trend * season * week * holiday
    cdf = np.cumsum(w) / w.sum()
    last_sun = (wday == 6) & ((month == 2) | (month == 9)) & (mday > 24)
    return Plan(n, seed, start, end, days, int(days * 0.55), cdf, d[last_sun])


def _client(p: Plan, i: np.ndarray) -> np.ndarray:
    """Client number of referral ``i``: its own, or (~9%) that of an earlier first referral."""
    new = (hash_u(p.seed, 2, i) >= 0.09) & (hash_u(p.seed, 9, i) >= 0.02)
    client, todo = i.copy(), ~new
    span = max(1, p.n // 4)
    for m in range(4):
        j = i - 1 - (hash_u(p.seed, 3 + m, i) * span).astype(np.int64)
        ok = todo & (j >= 0) & (hash_u(p.seed, 2, j) >= 0.09) & (hash_u(p.seed, 9, j) >= 0.02)
        client = np.where(ok, j, client)
        todo &= ~ok
    return client


def _nhs(seed: int, client: np.ndarray) -> np.ndarray:
    """A 10-digit number starting 9 passing modulus 11 (injective in the client), or -1."""
    base = 900_000_000 + (client * 41_592_653 + seed * 7_919) % 100_000_000
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    ok = (check != 10) & (hash_u(seed, 26, client) >= 0.05)
    return np.where(ok, base * 10 + check % 10, -1)


def _people(p: Plan, c: np.ndarray) -> dict[str, np.ndarray]:
    s = p.seed
    age = 16 + 8 * (-np.log1p(-hash_u(s, 21, c)) - np.log1p(-hash_u(s, 22, c)))
    return {
        "client": c,
        "gender": pick(hash_u(s, 20, c), GENDER_P),
        "ethnicity": pick(hash_u(s, 23, c), ETHNIC_P),
        "dob": -(np.minimum(age, 85) * 365.25).astype(np.int64) - 1,
        "district": pick(hash_u(s, 24, c), tuple(3.0 if k < 16 else 1.0 for k in range(40))),
        "inward": (hash_u(s, 25, c) * 4000).astype(np.int64),  # digit, letter, letter
        "nhs": _nhs(s, c),
        "name": (hash_u(s, 27, c) * 1600).astype(np.int64),
    }


def _shift_weekend(p: Plan, day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wd = p.weekday(day)
    return day + (wd == 6) + 2 * ((wd == 5) & (rng.random(day.shape) < 0.7))


def simulate(p: Plan, chunk: int, lo: int, hi: int) -> dict[str, np.ndarray]:
    """Referrals ``lo..hi-1`` with their whole (unbounded) future: per-referral arrays and
    ``(n, NSLOT)`` contact-slot arrays (``typ`` -1 where a slot is unused)."""
    rng = np.random.default_rng([p.seed, chunk])
    i = np.arange(lo, hi, dtype=np.int64)
    n = len(i)
    day = np.searchsorted(p.cdf, (i + hash_u(p.seed, 1, i)) / p.n, side="right")
    day = np.minimum(day, p.days - 1).astype(np.int64)
    r = rng.random(n)
    minute = np.where(
        r < 0.78,
        rng.integers(540, 1020, n),
        np.where(r < 0.92, rng.integers(1020, 1320, n), rng.integers(1320, 1980, n) % DAY),
    )
    minute = np.where(
        np.isin(day, p.clock_days) & (rng.random(n) < 0.6), rng.integers(30, 120, n), minute
    )
    minute = np.where((day == p.days - 1) & (minute > 1020), 540 + minute % 480, minute)
    ref_t = day * DAY + minute
    dup = (hash_u(p.seed, 9, i) < 0.02) & (i > 0)
    client = np.where(dup, _client(p, np.maximum(i - 1, 0)), _client(p, i))
    out = {"idx": i, "ref_t": ref_t, "time_known": rng.random(n) >= 0.05, **_people(p, client)}
    out["source"] = pick(rng.random(n), SOURCE_P)

    fate = rng.random(n)
    status = np.where(fate < 0.04, DECLINED, np.where(fate < 0.07, WITHDRAWN, CLOSED))
    status = np.where(dup, DUPLICATE, status)
    contacted = (rng.random(n) >= 0.04) & ~dup
    after = day >= p.step_day

    typ = np.full((n, NSLOT), -1, np.int8)
    sched, occ = np.full((n, NSLOT), NA), np.full((n, NSLOT), NA)
    dur = np.full((n, NSLOT), -1, np.int16)
    meth, outc = np.zeros((n, NSLOT), np.int8), np.zeros((n, NSLOT), np.int8)
    peer = rng.integers(0, 8, n)
    worker = np.repeat(peer[:, None], NSLOT, axis=1)

    # first contact: 3 h + lognormal, pushed into 08:00-20:00
    hours = 3.0 + rng.lognormal(np.log(np.where(after, 14.0, 24.0)), 0.85)
    fc = ref_t + (hours * 60).astype(np.int64)
    m = fc % DAY
    fc = np.where(m < 480, fc - m + 480 + rng.integers(0, 150, n), fc)
    m = fc % DAY
    fc = np.where(m >= 1200, fc - m + DAY + 480 + rng.integers(0, 180, n), fc)
    fc_day = fc // DAY

    # attempts before the first contact (or, never reached, on days 1, 3 and 7)
    n_att = np.where(contacted, pick(rng.random(n), (0.55, 0.3, 0.15)), 2 + (rng.random(n) < 0.5))
    u = rng.uniform(0.1, 0.9, (n, 3))
    t = np.where(
        contacted[:, None],
        ref_t[:, None] + (u * (fc - ref_t)[:, None]).astype(np.int64),
        (day[:, None] + np.array([1, 3, 7])) * DAY,
    )
    t = (t // DAY) * DAY + rng.integers(540, 1170, (n, 3))
    t = np.sort(np.where(np.arange(3) < n_att[:, None], t, np.iinfo(np.int64).max), axis=1)
    ok = (t > ref_t[:, None]) & ((t < fc[:, None]) | ~contacted[:, None]) & ~dup[:, None]
    ok &= t < np.iinfo(np.int64).max
    typ[:, :3] = np.where(ok, ATTEMPT, -1)
    occ[:, :3] = np.where(ok, t, NA)
    meth[:, :3] = np.where(rng.random((n, 3)) < 0.7, PHONE, TEXT)
    outc[:, :3] = np.where(rng.random((n, 3)) < 0.6, NO_ANSWER, VOICEMAIL)
    worker[:, :4] = rng.integers(0, 8, (n, 4))
    typ[:, 3] = np.where(contacted, FIRST, -1)
    occ[:, 3] = fc
    meth[:, 3] = np.array([PHONE, VIDEO, F2F])[pick(rng.random(n), (0.72, 0.14, 0.14))]
    dur[:, 3] = rng.choice(np.array([10, 15, 20, 20, 25, 30, 30, 40, 45]), n)

    # assessment (rebooked once if missed), then weekly peer sessions
    accepted = (status == CLOSED) & contacted
    slot = rng.choice(SLOT_TIMES, n)
    pref = np.array([F2F, VIDEO, PHONE])[pick(rng.random(n), (0.6, 0.25, 0.15))]
    a_day = np.maximum(
        day + np.where(after, rng.integers(2, 8, n), rng.integers(4, 12, n)), fc_day + 1
    )
    a_day = _shift_weekend(p, a_day, rng)
    a_out = pick(rng.random(n), (0.85, 0.03, 0.07, 0.03, 0.02))
    b_day = _shift_weekend(p, a_day + 7, rng)
    b_out = pick(rng.random(n), (0.8, 0.03, 0.1, 0.05, 0.02))
    rebook = accepted & (a_out >= DNA)
    engaged = accepted & ((a_out <= LATE) | (rebook & (b_out <= LATE)))
    att_day = np.where(a_out <= LATE, a_day, b_day)
    n_ses = np.where(
        engaged, pick(rng.random(n), (0.3, 0.07, 0.08, 0.09, 0.1, 0.1, 0.16, 0.06, 0.04)), 0
    )

    k = np.arange(1, 9)
    s_day = att_day[:, None] + 7 * k + rng.choice(np.array([-1, 0, 0, 0, 0, 1, 2]), (n, 8))
    s_day = _shift_weekend(p, s_day, rng)
    group = rng.random((n, 8)) < 0.08
    s_min = np.where(rng.random((n, 8)) < 0.85, slot[:, None], rng.choice(SLOT_TIMES, (n, 8)))
    s_min = np.where(group, 1080, s_min)
    s_out = pick(rng.random((n, 8)), (0.8, 0.03, 0.09, 0.05, 0.03))
    a_sched = np.stack([a_day * DAY + slot, b_day * DAY + slot], axis=1)
    sched[:, 4:] = np.concatenate([a_sched, s_day * DAY + s_min], axis=1)
    typ[:, 4] = np.where(accepted, ASSESS, -1)
    typ[:, 5] = np.where(rebook, ASSESS, -1)
    typ[:, 6:] = np.where(k <= n_ses[:, None], np.where(group, GROUP, PEER), -1)
    outc[:, 4:] = np.concatenate([a_out[:, None], b_out[:, None], s_out], axis=1)
    late = rng.integers(5, 26, (n, NSLOT - 4))
    occ[:, 4:] = np.where(
        outc[:, 4:] == ATTENDED,
        sched[:, 4:],
        np.where(outc[:, 4:] == LATE, sched[:, 4:] + late, NA),
    )
    full = np.where(
        rng.random((n, 8)) < 0.9,
        90,
        np.where(rng.random((n, 8)) < 0.7, 60, rng.choice([75, 80, 85, 100, 120], (n, 8))),
    )
    full = np.concatenate([rng.choice(np.array([60, 75, 90, 90, 90]), (n, 2)), full], axis=1)
    full = np.where(typ[:, 4:] == GROUP, 120, full)
    dur[:, 4:] = np.where(
        outc[:, 4:] == ATTENDED, full, np.where(outc[:, 4:] == LATE, full - late - 5, -1)
    )
    meth[:, 4:] = np.where(
        rng.random((n, NSLOT - 4)) < 0.9,
        pref[:, None],
        rng.choice(np.array([F2F, VIDEO, PHONE]), (n, NSLOT - 4)),
    )
    meth[:, 6:] = np.where(group, F2F, meth[:, 6:])
    other = rng.integers(0, 8, (n, NSLOT - 4))
    worker[:, 4:] = np.where(rng.random((n, NSLOT - 4)) < 0.93, worker[:, 4:], other)

    # discharge
    when = np.where(typ >= 0, np.where(sched != NA, sched, occ), NA).max(axis=1)
    close = when // DAY + rng.integers(7, 22, n)
    reason = np.where(
        n_ses > 0,
        pick(rng.random(n), (0.75, 0.15, 0.0, 0.07, 0.03)),
        pick(rng.random(n), (0.0, 0.45, 0.0, 0.45, 0.1)),
    )
    reason = np.where(accepted & ~engaged, CLIENT_ENDED, reason)
    seen = np.where(contacted, fc_day, day)
    close = np.where(status == DECLINED, seen + rng.integers(1, 11, n), close)
    reason = np.where(status == DECLINED, np.where(rng.random(n) < 0.6, REFERRED_ON, -1), reason)
    close = np.where(status == WITHDRAWN, seen + rng.integers(1, 15, n), close)
    reason = np.where(status == WITHDRAWN, np.where(rng.random(n) < 0.5, CLIENT_ENDED, -1), reason)
    never = (status == CLOSED) & ~contacted
    close = np.where(never, day + rng.integers(21, 36, n), close)
    reason = np.where(never, NO_CONTACT, reason)
    out.update(status=status, close=np.where(dup, NA, close), reason=np.where(dup, -1, reason))
    out.update(typ=typ, sched=sched, occ=occ, dur=dur, meth=meth, outc=outc, worker=worker)

    # feedback (40% of engaged, 15% of those anonymous) and CORE-10 at assessment / last session
    out["fb"] = engaged & (rng.random(n) < 0.4)
    out["fb_day"] = close + rng.integers(0, 21, n)
    out["fb_anon"] = rng.random(n) < 0.15
    out["fft"] = pick(rng.random(n), (0.6, 0.25, 0.05, 0.03, 0.02, 0.05))
    attended = (typ >= ASSESS) & (outc <= LATE)
    last_ses = np.where(attended[:, 6:], occ[:, 6:], NA).max(axis=1)
    out["pre"] = engaged & (rng.random(n) < 0.6)
    out["post"] = out["pre"] & (last_ses != NA) & (rng.random(n) < 0.85)
    out["pre_day"] = np.where(a_out <= LATE, occ[:, 4], occ[:, 5]) // DAY
    out["post_day"] = last_ses // DAY
    sev = rng.normal(2.3, 0.5, n)
    imp = rng.normal(0.9, 0.6, n)
    items = [
        np.clip(np.rint(s[:, None] + rng.normal(0, 0.7, (n, 10))), 0, 4).astype(np.int8)
        for s in (sev, sev - imp)
    ]
    for it in items:
        it[:, 1:3] = 4 - it[:, 1:3]  # items 2 and 3 are positively worded
    out["items_pre"], out["items_post"] = items
    return out


def contacts_at(s: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    """The chunk's contacts as exported at minute ``t``: what has happened, plus each
    referral's next booked appointment (outcome FUTURE)."""
    typ, sched, occ = s["typ"], s["sched"], s["occ"]
    valid = (typ >= 0) & (s["ref_t"] <= t)[:, None]
    appt = typ >= ASSESS
    past = np.where(appt, sched <= t - 60, occ <= t)
    future = valid & appt & ~past
    first_future = future & (np.cumsum(future, axis=1) == 1)
    keep = valid & (past | first_future)
    row, col = np.nonzero(keep)
    ff = first_future[row, col]
    return {
        "ref": s["idx"][row],
        "ref_t": s["ref_t"][row],
        "typ": typ[row, col],
        "sched": sched[row, col],
        "occ": np.where(ff, NA, occ[row, col]),
        "dur": np.where(ff, -1, s["dur"][row, col]),
        "meth": s["meth"][row, col],
        "outc": np.where(ff, FUTURE, s["outc"][row, col]),
        "worker": s["worker"][row, col],
    }


def state_at(s: dict[str, np.ndarray], t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(status, close day, reason) of each referral as known at minute ``t``."""
    still_open = (s["status"] != DUPLICATE) & (s["close"] > t // DAY)
    return (
        np.where(still_open, OPEN, s["status"]),
        np.where(still_open, NA, s["close"]),
        np.where(still_open, -1, s["reason"]),
    )


def feedback_at(s: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    tday = t // DAY
    keep = s["fb"] & (s["close"] <= tday) & (s["fb_day"] <= tday)
    order = np.nonzero(keep)[0]
    order = order[np.argsort(s["fb_day"][order], kind="stable")]
    return {
        "ref": s["idx"][order],
        "day": s["fb_day"][order],
        "anon": s["fb_anon"][order],
        "fft": s["fft"][order],
    }


def outcomes_at(s: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    tday = t // DAY
    pre = np.nonzero(s["pre"] & (s["pre_day"] <= tday))[0]
    post = np.nonzero(s["post"] & (s["close"] <= tday))[0]
    rows = np.concatenate([pre, post])
    day = np.concatenate([s["pre_day"][pre], s["post_day"][post]])
    items = np.concatenate([s["items_pre"][pre], s["items_post"][post]])
    order = np.lexsort((day, rows))
    return {"ref": s["idx"][rows][order], "day": day[order], "items": items[order]}
