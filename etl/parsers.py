"""Scalar parsers for caseload exports: dates, times, durations, NHS numbers, postcodes and ids.

Pure and stdlib-only. The loader calls these on the *unique* values of a column. Each takes one raw
cell (text, or the int/float/date/datetime/time a spreadsheet reader gives) and returns a clean
value, None for a blank, or raises ParseError. Error messages are plain words for a service manager
and never contain the value itself, because values may identify a person.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class ParseError(ValueError):
    """A value could not be read. The message never contains the value itself."""


DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "dd/mm/yyyy",  # 04/03/2025, 4/3/2025, 04-03-2025, 04.03.2025 (optionally + time)
    "d/m/yy",  # 4/3/25 (00-68 -> 2000s, 69-99 -> 1900s)
    "dd-Mon-yyyy",  # 04-Mar-2025, 4-March-25
    "dd Mon yyyy",  # 4 Mar 2025, 4th March 2025
    "iso",  # 2025-03-04, 2025-03-04T09:30[:ss], 2025-03-04 09:30:00
    "excel_serial",  # 45719 (date only), 45719.458333 (with time); 1900 date system
)

_TEXT_DATE_FORMATS = DEFAULT_DATE_FORMATS[:-1]  # all but excel_serial
_MSG_DATE = "date is not in a recognised day-first format (day/month/year)"
_MSG_NO_DATE = "date does not exist in the calendar (day or month out of range)"
_MSG_MONTH = "date has a month name that is not recognised"
_MSG_TIME = "time is not in a recognised format (hours:minutes, or with AM/PM)"
_MSG_BAD_TIME = "time has hours, minutes or seconds out of range"

_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {n: i for i, full in enumerate(_MONTH_NAMES.split(), 1) for n in (full, full[:3])}
_MONTHS["sept"] = 9

_D, _YY = r"(?P<d>\d{1,2})", r"(?P<y>\d{4}|\d{2})(?!\d)"
_DATE_RES: dict[str, re.Pattern[str]] = {
    "dd/mm/yyyy": re.compile(_D + r"(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4})(?!\d)"),
    "d/m/yy": re.compile(_D + r"(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<y>\d{2})(?!\d)"),
    "dd-Mon-yyyy": re.compile(_D + r"-(?P<mon>[A-Za-z]{3,9})\.?-" + _YY),
    "dd Mon yyyy": re.compile(_D + r"(?i:st|nd|rd|th)?\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+" + _YY),
    "iso": re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)"),
}
_SERIAL_RE = re.compile(r"(\d{1,7})(?:\.(\d*))?")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_SENTINEL_DATES = frozenset({date(1900, 1, 1), date(1899, 12, 30)})
_ZERO_RE = re.compile(r"(?:0+(?:\.0*)?|0+(?P<z>[/.-])0+(?P=z)0+)(?:[ T]0{1,2}:00(?::00)?)?")
_TIME_RE = re.compile(
    r"(\d{1,2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([AaPp])\.?\s*[Mm]\.?)?"
)
_FRACTION_RE = re.compile(r"0?\.\d+|0")
_DUR_HM_RE = re.compile(r"(\d{1,3}):([0-5]\d)(?::([0-5]\d))?")
_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_DUR_UNITS_RE = re.compile(
    rf"(?:{_NUM}\s*(?:hours?|hrs?|h)\.?)?\s*(?:,|and)?\s*(?:{_NUM}\s*(?:minutes?|mins?|m)?\.?)?",
    re.I,
)
_SCI_RE = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_NHS_SEP_RE = re.compile(r"[\s-]+")
_NHS_RE = re.compile(r"([0-9]{10})(?:\.0*)?")
_POSTCODE_RE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)(?:\s*[0-9][A-Z]{2})?")
_ID_FLOAT_RE = re.compile(r"([0-9]+)\.0+")
_INT_RE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_AGE_BANDS = ((18, "under 18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (65, "45-64"))
_AGE_BANDS += ((math.inf, "65+"),)
_WS_RE = re.compile(r"\s+")
_NON_ALNUM_RE = re.compile(r"[\W_]+")


def _blank(value: Any) -> bool:
    """True for None, NaN/NaT/NA and text that is empty or only whitespace."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except TypeError:  # pandas.NA refuses to be truth-tested
        return True


def _text(value: Any) -> str:
    """A non-blank cell as stripped text (numbers via str(), so 12345.0 stays '12345.0')."""
    return value.strip() if isinstance(value, str) else str(value).strip()


def _whole_seconds(value: datetime) -> datetime:
    """A plain naive datetime rounded to the nearest second (also unwraps pandas Timestamps)."""
    out = datetime(value.year, value.month, value.day, value.hour, value.minute, value.second)
    return out + timedelta(seconds=1) if value.microsecond >= 500_000 else out


def _clock_seconds(text: str) -> int | None:
    """Seconds after midnight of a written clock time; None if the text is not shaped like one."""
    m = _TIME_RE.fullmatch(text)
    if m is None or (m[2] is None and m[5] is None):  # a bare number is not a time
        return None
    hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if m[5]:
        pm = m[5] in "Pp"
        if hour > 12 or (hour == 0 and pm):
            raise ParseError(_MSG_BAD_TIME)
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ParseError(_MSG_BAD_TIME)
    frac = math.floor(float("0." + m[4]) + 0.5) if m[4] else 0
    return min(hour * 3600 + minute * 60 + second + frac, 86399)  # 23:59:59.7 stays that day


def _build_date(m: re.Match[str]) -> date:
    g = m.groupdict()
    year = int(g["y"])
    if len(g["y"]) == 2:
        year += 2000 if year <= 68 else 1900
    mon = g.get("mon")
    month = _MONTHS.get(mon.lower()) if mon else int(g["m"])
    if month is None:
        raise ParseError(_MSG_MONTH)
    try:
        return date(year, month, int(g["d"]))
    except ValueError:
        raise ParseError(_MSG_NO_DATE) from None


def _from_serial(m: re.Match[str]) -> tuple[datetime, bool]:
    """Excel 1900-system serial: 1 is 1900-01-01; 60 is Excel's non-existent 29 February 1900."""
    days, frac = int(m[1]), (m[2] or "").rstrip("0")
    if days == 60:
        raise ParseError("date is an Excel day number for a day that does not exist")
    days += 1 if 0 < days < 60 else 0
    seconds = math.floor(float("0." + frac) * 86400 + 0.5) if frac else 0
    try:
        return _EXCEL_EPOCH + timedelta(days=days, seconds=seconds), bool(frac)
    except OverflowError:
        raise ParseError("date is an Excel day number that is out of range") from None


def _parse_text(s: str, formats: tuple[str, ...]) -> tuple[datetime, bool]:
    for name in formats:
        if name == "excel_serial":
            sm = _SERIAL_RE.fullmatch(s)
            if sm:
                return _from_serial(sm)
            continue
        pattern = _DATE_RES.get(name)
        if pattern is None:
            raise ValueError(f"unknown date format name {name!r} in the profile")
        m = pattern.match(s)
        if m is None:
            continue
        d = _build_date(m)
        start, rest = datetime(d.year, d.month, d.day), s[m.end() :]
        if not rest:
            return start, False
        seconds = _clock_seconds(rest.lstrip(" T,")) if rest[0] in " T," else None
        if seconds is None:
            raise ParseError(_MSG_DATE)
        return start + timedelta(seconds=seconds), True
    raise ParseError(_MSG_DATE)


def _parse(value: Any, formats: tuple[str, ...]) -> tuple[datetime, bool] | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LONDON)
        dt = _whole_seconds(value)
        result = (dt, dt.time() != time(0))  # an Excel date cell without time reads as midnight
    elif isinstance(value, date):
        result = (datetime(value.year, value.month, value.day), False)
    else:
        s = _text(value)
        if _ZERO_RE.fullmatch(s):
            return None
        result = _parse_text(s, formats)
    return None if result[0].date() in _SENTINEL_DATES else result


def is_blank_sentinel(value: Any) -> bool:
    """True for values that stand for 'no date': 01/01/1900, 00/00/0000, 30/12/1899, 0 (any form).

    A genuinely blank value is not a sentinel (False); unreadable values are not sentinels either.
    """
    if _blank(value):
        return False
    try:
        return _parse(value, DEFAULT_DATE_FORMATS) is None
    except ParseError:
        return False


def parse_date(value: Any, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> date | None:
    """A UK day-first date (any time part is read and dropped); None for blanks and sentinels."""
    result = _parse(value, formats)
    return result[0].date() if result else None


def parse_datetime(
    value: Any, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
) -> tuple[datetime, bool] | None:
    """(naive London wall-clock datetime, time_known); time_known is False for date-only values."""
    return _parse(value, formats)


def parse_time(value: Any) -> time | None:
    """A time-of-day column: 09:15, 9:15, 14:20:00, 2:30 PM, 2:30pm, Excel fraction 0.5 -> 12:00."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return _whole_seconds(value).time()
    if isinstance(value, time):
        return value.replace(microsecond=0, tzinfo=None)
    s = _text(value)
    seconds = _clock_seconds(s)
    if seconds is None and _FRACTION_RE.fullmatch(s):
        seconds = math.floor(float(s) * 86400 + 0.5)
    if seconds is None:  # a written date-time in a time column: keep its time
        try:
            parsed = _parse_text(s, _TEXT_DATE_FORMATS)
        except ParseError:
            raise ParseError(_MSG_TIME) from None
        if not parsed[1]:
            raise ParseError(_MSG_TIME)
        return parsed[0].time()
    seconds = min(seconds, 86399)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def combine_date_time(d: date, t: time | None) -> tuple[datetime, bool]:
    """A date column plus an optional time column -> (datetime, time_known)."""
    return datetime.combine(d, t or time(0)), t is not None


def london_to_utc(local: datetime) -> datetime:
    """Naive Europe/London wall clock -> naive UTC.

    A repeated wall time (autumn change) takes the first, BST reading; a wall time in the spring gap
    is moved forward an hour (01:30 on the change day is read as 02:30 BST = 01:30 UTC).
    """
    if local.tzinfo is None:
        local = local.replace(tzinfo=LONDON, fold=0)  # fold=0 gives exactly both rules above
    return local.astimezone(UTC).replace(tzinfo=None)


def utc_to_london(utc: datetime) -> datetime:
    """Naive UTC -> naive Europe/London wall clock."""
    if utc.tzinfo is None:
        utc = utc.replace(tzinfo=UTC)
    return utc.astimezone(LONDON).replace(tzinfo=None)


def parse_duration(value: Any) -> int | None:
    """Minutes (0-600, rounded): 90, 90 mins, 1:30, 1.5 hrs, 2h, 1h 30m, 1 hr 30 min, 45m."""
    if _blank(value):
        return None
    if isinstance(value, timedelta):
        minutes = value.total_seconds() / 60
    elif isinstance(value, time):
        minutes = value.hour * 60 + value.minute + value.second / 60
    else:
        s = _text(value)
        hm = _DUR_HM_RE.fullmatch(s)
        units = None if hm else _DUR_UNITS_RE.fullmatch(s)
        if hm:
            minutes = int(hm[1]) * 60 + int(hm[2]) + int(hm[3] or 0) / 60
        elif units and (units[1] or units[2]):
            minutes = float(units[1] or 0) * 60 + float(units[2] or 0)
        else:
            raise ParseError("duration is not in a recognised form (minutes, hours:minutes, hours)")
    rounded = math.floor(minutes + 0.5)
    if not 0 <= rounded <= 600:
        raise ParseError("duration is outside the allowed range of 0 to 600 minutes")
    return rounded


def nhs_check_digit_ok(digits: str) -> bool:
    """Modulus-11 check of a 10-digit NHS number (weights 10..2; 11 -> 0; 10 is never valid)."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    check = 11 - sum(int(c) * w for c, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return check != 10 and check % 11 == int(digits[9])


def normalise_nhs_number(value: Any) -> str | None:
    """10 digits from '401 023 2137', "'4010232137", '4010232137.0', '401-023-2137'; checked."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value).zfill(10)  # a numeric cell has lost any leading zeros
    s = _text(value).lstrip("'")
    if _SCI_RE.fullmatch(s):
        raise ParseError(
            "NHS number is in scientific notation: precision was lost in Excel and the number "
            "cannot be recovered"
        )
    m = _NHS_RE.fullmatch(_NHS_SEP_RE.sub("", s))
    if m is None:
        raise ParseError("NHS number is not ten digits")
    digits = m[1]
    if not nhs_check_digit_ok(digits):
        raise ParseError("NHS number fails the NHS number check (modulus 11); it may be mistyped")
    if digits == digits[0] * 10:
        raise ParseError("NHS number is a placeholder (every digit the same)")
    return digits


def postcode_district(value: Any) -> str | None:
    """Outward code of a UK postcode, upper case: 'BS1 4DJ' -> 'BS1', 'BS59XY' -> 'BS5'.

    Without a space the inward code is the last three characters. An outward code alone is kept.
    """
    if _blank(value):
        return None
    m = _POSTCODE_RE.fullmatch(_text(value).upper())
    if m is None:
        raise ParseError("postcode is not in the UK postcode format")
    return m[1]


def normalise_id(value: Any) -> str | None:
    """An id as text: stripped, leading apostrophe and Excel '.0' removed, spaces collapsed."""
    if _blank(value):
        return None
    s = _WS_RE.sub(" ", _text(value).lstrip("'").strip())
    if not s:
        return None
    m = _ID_FLOAT_RE.fullmatch(s)
    return m[1] if m else s


def normalise_header(name: Any) -> str:
    """Lower case with everything but letters and digits removed: 'Referral ID' -> 'referralid'."""
    return "" if name is None else _NON_ALNUM_RE.sub("", str(name).lower())


def age_on(dob: date, on: date) -> int:
    """Whole years between a date of birth and a date (29 February birthdays count from 1 March)."""
    if dob > on:
        raise ParseError("date of birth is after the date the age is wanted for")
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def age_band(age: int) -> str:
    """Reporting age band: 'under 18', '18-24', '25-34', '35-44', '45-64', '65+'."""
    if age < 0:
        raise ParseError("age cannot be negative")
    return next(band for limit, band in _AGE_BANDS if age < limit)


def parse_int(value: Any, lo: int, hi: int) -> int | None:
    """A whole number within lo..hi ('3' and '3.0' are fine; '3.5' and 'x' are not)."""
    if _blank(value):
        return None
    s = _text(value)
    if isinstance(value, bool) or not _INT_RE.fullmatch(s):
        raise ParseError("value is not a whole number")
    number = int(s.split(".")[0])
    if not lo <= number <= hi:
        raise ParseError(f"value is outside the allowed range {lo} to {hi}")
    return number
