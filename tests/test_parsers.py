"""Tests for etl.parsers: examples for every accepted form, plus Hypothesis properties."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from etl.parsers import (
    DEFAULT_DATE_FORMATS,
    ParseError,
    age_band,
    age_on,
    combine_date_time,
    is_blank_sentinel,
    london_to_utc,
    nhs_check_digit_ok,
    normalise_header,
    normalise_id,
    normalise_nhs_number,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_int,
    parse_time,
    postcode_district,
    utc_to_london,
)

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
H = timedelta(hours=1)


def dt(*args: int) -> datetime:
    return datetime(*args)


# --------------------------------------------------------------------------- basics


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(ParseError, ValueError)
    assert DEFAULT_DATE_FORMATS == (
        "dd/mm/yyyy",
        "d/m/yy",
        "dd-Mon-yyyy",
        "dd Mon yyyy",
        "iso",
        "excel_serial",
    )


BLANK_FUNCS = [
    parse_date,
    parse_datetime,
    parse_time,
    parse_duration,
    normalise_nhs_number,
    postcode_district,
    normalise_id,
    lambda v: parse_int(v, 0, 4),
]


@pytest.mark.parametrize("func", BLANK_FUNCS)
@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n", "\xa0", float("nan")])
def test_blank_input_returns_none(func, blank) -> None:
    assert func(blank) is None


# --------------------------------------------------------------------------- dates

DATE_EXAMPLES = [
    ("04/03/2025", date(2025, 3, 4)),
    ("4/3/2025", date(2025, 3, 4)),
    ("04-03-2025", date(2025, 3, 4)),
    ("04.03.2025", date(2025, 3, 4)),
    ("4/3/25", date(2025, 3, 4)),
    ("04/03/25", date(2025, 3, 4)),
    ("01/01/68", date(2068, 1, 1)),
    ("01/01/69", date(1969, 1, 1)),
    ("01/01/00", date(2000, 1, 1)),
    ("31/12/99", date(1999, 12, 31)),
    ("04-Mar-2025", date(2025, 3, 4)),
    ("4-mar-25", date(2025, 3, 4)),
    ("04-MARCH-2025", date(2025, 3, 4)),
    ("4 Mar 2025", date(2025, 3, 4)),
    ("4 march 2025", date(2025, 3, 4)),
    ("4th March 2025", date(2025, 3, 4)),
    ("21 Sept 2025", date(2025, 9, 21)),
    ("1 Jan 69", date(1969, 1, 1)),
    ("2025-03-04", date(2025, 3, 4)),
    ("45719", date(2025, 3, 3)),
    ("45719.0", date(2025, 3, 3)),
    ("  04/03/2025  ", date(2025, 3, 4)),
    ("29/02/2024", date(2024, 2, 29)),
    # a datetime-looking value in a date column: the time is dropped
    ("04/03/2025 14:30", date(2025, 3, 4)),
    ("2025-03-04T09:30:00", date(2025, 3, 4)),
    ("45719.458333", date(2025, 3, 3)),
    # values a spreadsheet reader hands over as objects
    (datetime(2025, 3, 4, 9, 30), date(2025, 3, 4)),
    (date(2025, 3, 4), date(2025, 3, 4)),
    (45719, date(2025, 3, 3)),
    (45719.5, date(2025, 3, 3)),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_EXAMPLES)
def test_parse_date_examples(raw, expected) -> None:
    assert parse_date(raw) == expected


def test_day_first_is_never_swapped() -> None:
    assert parse_date("04/03/2025") == date(2025, 3, 4)
    assert parse_date("03/04/2025") == date(2025, 4, 3)


@pytest.mark.parametrize(
    "raw",
    [
        "13/25/2025",
        "31/02/2025",
        "29/02/2025",
        "00/03/2025",
        "04/00/2025",
        "04/13/2025",
        "2025-13-01",
        "2025-02-30",
        "04-Foo-2025",
        "04/03/2025x",
        "04/03-2025",
        "04/03/202",
        "04/03/20251",
        "March 4 2025",
        "yesterday",
        "04/03/2025 25:00",
        "04/03/2025 10:61",
        "04/03/2025 10",
        "-45719",
        "60",
        "99999999",
        "9999999",
    ],
)
def test_parse_date_rejects(raw) -> None:
    with pytest.raises(ParseError):
        parse_date(raw)


def test_excel_serial_epoch_and_leap_year_bug() -> None:
    assert parse_date("59") == date(1900, 2, 28)
    assert parse_date("61") == date(1900, 3, 1)
    assert parse_date("2") == date(1900, 1, 2)
    with pytest.raises(ParseError):
        parse_date("60")  # Excel's 29 February 1900, which never existed


def test_formats_argument_restricts_and_orders() -> None:
    assert parse_date("04/03/2025", formats=("dd/mm/yyyy",)) == date(2025, 3, 4)
    with pytest.raises(ParseError):
        parse_date("45719", formats=("dd/mm/yyyy", "iso"))
    with pytest.raises(ParseError):
        parse_date("4/3/25", formats=("dd/mm/yyyy",))
    with pytest.raises(ParseError):
        parse_date("2025-03-04", formats=("dd/mm/yyyy", "excel_serial"))
    assert parse_date("2025-03-04", formats=("iso",)) == date(2025, 3, 4)


def test_unknown_format_name_is_a_profile_error_not_a_row_error() -> None:
    with pytest.raises(ValueError, match="unknown date format") as info:
        parse_date("04/03/2025", formats=("mm/dd/yyyy",))
    assert not isinstance(info.value, ParseError)


SENTINELS = [
    "01/01/1900",
    "00/00/0000",
    "30/12/1899",
    "0",
    "0.0",
    "1900-01-01",
    "1899-12-30",
    "1/1/1900",
    "0000-00-00",
    "01/01/1900 00:00:00",
    "1899-12-30 00:00:00",
    0,
    0.0,
    datetime(1899, 12, 30),
    date(1900, 1, 1),
]


@pytest.mark.parametrize("raw", SENTINELS)
def test_sentinels_mean_blank(raw) -> None:
    assert is_blank_sentinel(raw) is True
    assert parse_date(raw) is None
    assert parse_datetime(raw) is None


@pytest.mark.parametrize("raw", ["04/03/2025", "02/01/1900", "31/12/1899", "", None, "junk"])
def test_non_sentinels(raw) -> None:
    assert is_blank_sentinel(raw) is False


# --------------------------------------------------------------------------- datetimes

DATETIME_EXAMPLES = [
    ("04/03/2025", (dt(2025, 3, 4), False)),
    ("04/03/2025 09:30", (dt(2025, 3, 4, 9, 30), True)),
    ("4/3/2025 9:30", (dt(2025, 3, 4, 9, 30), True)),
    ("04/03/2025 09:30:15", (dt(2025, 3, 4, 9, 30, 15), True)),
    ("04/03/2025 00:00", (dt(2025, 3, 4), True)),  # a written midnight is known
    ("04/03/2025, 09:30", (dt(2025, 3, 4, 9, 30), True)),
    ("4/3/25 17:05", (dt(2025, 3, 4, 17, 5), True)),
    ("03/03/2025 2:30 PM", (dt(2025, 3, 3, 14, 30), True)),
    ("03/03/2025 2:30pm", (dt(2025, 3, 3, 14, 30), True)),
    ("03/03/2025 12:15 AM", (dt(2025, 3, 3, 0, 15), True)),
    ("03/03/2025 12:15 PM", (dt(2025, 3, 3, 12, 15), True)),
    ("03/03/2025 2 p.m.", (dt(2025, 3, 3, 14, 0), True)),
    ("04-Mar-2025 09:30", (dt(2025, 3, 4, 9, 30), True)),
    ("4 March 2025 09:30", (dt(2025, 3, 4, 9, 30), True)),
    ("2025-03-04", (dt(2025, 3, 4), False)),
    ("2025-03-04T09:30", (dt(2025, 3, 4, 9, 30), True)),
    ("2025-03-04T09:30:45", (dt(2025, 3, 4, 9, 30, 45), True)),
    ("2025-03-04 09:30:00", (dt(2025, 3, 4, 9, 30), True)),
    ("2025-03-04 09:30:00.4", (dt(2025, 3, 4, 9, 30), True)),
    ("2025-03-04 09:30:00.5", (dt(2025, 3, 4, 9, 30, 1), True)),
    ("2025-03-04 09:30:59.999", (dt(2025, 3, 4, 9, 31), True)),
    ("45719.458333", (dt(2025, 3, 3, 11, 0), True)),
    ("45719.45833333333", (dt(2025, 3, 3, 11, 0), True)),
    ("45719", (dt(2025, 3, 3), False)),
    ("45719.0", (dt(2025, 3, 3), False)),
    ("45719.5", (dt(2025, 3, 3, 12, 0), True)),
    (45719.458333, (dt(2025, 3, 3, 11, 0), True)),
    (45719, (dt(2025, 3, 3), False)),
    (datetime(2025, 3, 3, 11, 0), (dt(2025, 3, 3, 11, 0), True)),
    (datetime(2025, 3, 3, 11, 0, 0, 600_000), (dt(2025, 3, 3, 11, 0, 1), True)),
    # an Excel date cell without time arrives as a midnight datetime: time unknown
    (datetime(2025, 3, 3), (dt(2025, 3, 3), False)),
    (date(2025, 3, 3), (dt(2025, 3, 3), False)),
    # an aware datetime is converted to the London wall clock
    (datetime(2025, 6, 1, 12, 0, tzinfo=UTC), (dt(2025, 6, 1, 13, 0), True)),
]


@pytest.mark.parametrize(("raw", "expected"), DATETIME_EXAMPLES)
def test_parse_datetime_examples(raw, expected) -> None:
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "04/03/2025 24:00",
        "04/03/2025 13:00 PM",
        "04/03/2025 0:30 PM",
        "04/03/2025 09:60",
        "04/03/2025 09:30:60",
        "04/03/2025 9",
        "04/03/2025 nine",
        "04/03/202509:30",
        "2025-03-04T",
        "2025-03-04T09:30Z",
        "09:30",
        "2:30 PM",
    ],
)
def test_parse_datetime_rejects(raw) -> None:
    with pytest.raises(ParseError):
        parse_datetime(raw)


# --------------------------------------------------------------------------- times

TIME_EXAMPLES = [
    ("09:15", time(9, 15)),
    ("9:15", time(9, 15)),
    ("14:20:00", time(14, 20)),
    ("14:20:07", time(14, 20, 7)),
    ("2:30 PM", time(14, 30)),
    ("2:30pm", time(14, 30)),
    ("2:30 p.m.", time(14, 30)),
    ("2pm", time(14, 0)),
    ("12:00 AM", time(0, 0)),
    ("12:00 PM", time(12, 0)),
    ("12:30am", time(0, 30)),
    ("11:59 PM", time(23, 59)),
    ("00:00", time(0, 0)),
    ("23:59:59", time(23, 59, 59)),
    ("0.5", time(12, 0)),
    ("0.75", time(18, 0)),
    (".25", time(6, 0)),
    ("0.458333", time(11, 0)),
    ("0", time(0, 0)),
    (0.5, time(12, 0)),
    ("30/12/1899 09:15", time(9, 15)),  # an Excel time cell written with its dummy date
    ("1899-12-30 09:15:00", time(9, 15)),
    ("04/03/2025 16:40", time(16, 40)),
    (time(9, 15, 0, 123), time(9, 15)),
    (datetime(1899, 12, 30, 9, 15), time(9, 15)),
]


@pytest.mark.parametrize(("raw", "expected"), TIME_EXAMPLES)
def test_parse_time_examples(raw, expected) -> None:
    assert parse_time(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["24:00", "25:10", "12:60", "9:75", "13:00 PM", "0:30 PM", "12", "930", "9.15", "abc", "1.5",
     "04/03/2025", "-0.5"],
)  # fmt: skip
def test_parse_time_rejects(raw) -> None:
    with pytest.raises(ParseError):
        parse_time(raw)


def test_combine_date_time() -> None:
    assert combine_date_time(date(2025, 3, 4), time(9, 15)) == (dt(2025, 3, 4, 9, 15), True)
    assert combine_date_time(date(2025, 3, 4), time(0, 0)) == (dt(2025, 3, 4), True)
    assert combine_date_time(date(2025, 3, 4), None) == (dt(2025, 3, 4), False)


def test_date_and_time_columns_combine_like_the_sample() -> None:
    d, t = parse_date("30/03/2025"), parse_time("00:30")
    assert combine_date_time(d, t) == (dt(2025, 3, 30, 0, 30), True)
    assert combine_date_time(parse_date("04/03/2025"), parse_time("")) == (dt(2025, 3, 4), False)


# --------------------------------------------------------------------------- clock changes


def test_london_to_utc_winter_and_summer() -> None:
    assert london_to_utc(dt(2025, 1, 15, 12, 0)) == dt(2025, 1, 15, 12, 0)
    assert london_to_utc(dt(2025, 7, 15, 12, 0)) == dt(2025, 7, 15, 11, 0)
    assert utc_to_london(dt(2025, 1, 15, 12, 0)) == dt(2025, 1, 15, 12, 0)
    assert utc_to_london(dt(2025, 7, 15, 11, 0)) == dt(2025, 7, 15, 12, 0)


def test_spring_forward_2025_03_30() -> None:
    assert london_to_utc(dt(2025, 3, 30, 0, 59)) == dt(2025, 3, 30, 0, 59)
    # 01:00-01:59 never happens: moved forward an hour (01:30 -> 02:30 BST = 01:30 UTC)
    assert london_to_utc(dt(2025, 3, 30, 1, 30)) == dt(2025, 3, 30, 1, 30)
    assert utc_to_london(london_to_utc(dt(2025, 3, 30, 1, 30))) == dt(2025, 3, 30, 2, 30)
    assert london_to_utc(dt(2025, 3, 30, 1, 0)) == dt(2025, 3, 30, 1, 0)
    assert london_to_utc(dt(2025, 3, 30, 2, 0)) == dt(2025, 3, 30, 1, 0)
    assert london_to_utc(dt(2025, 3, 30, 2, 30)) == dt(2025, 3, 30, 1, 30)
    assert utc_to_london(dt(2025, 3, 30, 0, 59)) == dt(2025, 3, 30, 0, 59)
    assert utc_to_london(dt(2025, 3, 30, 1, 0)) == dt(2025, 3, 30, 2, 0)


def test_fall_back_2025_10_26() -> None:
    # 01:00-01:59 happens twice: the first (BST, UTC+1) reading is taken
    assert london_to_utc(dt(2025, 10, 26, 1, 30)) == dt(2025, 10, 26, 0, 30)
    assert london_to_utc(dt(2025, 10, 26, 0, 59)) == dt(2025, 10, 25, 23, 59)
    assert london_to_utc(dt(2025, 10, 26, 2, 0)) == dt(2025, 10, 26, 2, 0)
    assert utc_to_london(dt(2025, 10, 26, 0, 30)) == dt(2025, 10, 26, 1, 30)
    assert utc_to_london(dt(2025, 10, 26, 1, 30)) == dt(2025, 10, 26, 1, 30)  # second reading
    # even an explicit fold=1 is read as the first occurrence (the contract's rule)
    assert london_to_utc(dt(2025, 10, 26, 1, 30).replace(fold=1)) == dt(2025, 10, 26, 0, 30)


def test_aware_inputs_are_converted_not_reinterpreted() -> None:
    aware = datetime(2025, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert london_to_utc(aware) == dt(2025, 7, 1, 10, 0)
    assert utc_to_london(datetime(2025, 7, 1, 10, 0, tzinfo=UTC)) == dt(2025, 7, 1, 11, 0)


def wall_hours_after_72_elapsed(start_local: datetime) -> float:
    end_local = utc_to_london(london_to_utc(start_local) + 72 * H)
    return (end_local - start_local) / H


def test_72_elapsed_hours_is_73_wall_hours_across_spring_change() -> None:
    assert wall_hours_after_72_elapsed(dt(2025, 3, 29, 12, 0)) == 73
    assert utc_to_london(london_to_utc(dt(2025, 3, 29, 12, 0)) + 72 * H) == dt(2025, 4, 1, 13, 0)


def test_72_elapsed_hours_is_71_wall_hours_across_autumn_change() -> None:
    assert wall_hours_after_72_elapsed(dt(2025, 10, 25, 12, 0)) == 71
    assert wall_hours_after_72_elapsed(dt(2025, 6, 1, 12, 0)) == 72


def test_sample_referral_contacted_at_72_5_wall_hours_is_within_72_elapsed() -> None:
    referral, contact = dt(2025, 3, 29, 8, 30), dt(2025, 4, 1, 9, 0)
    assert (contact - referral) / H == 72.5
    assert (london_to_utc(contact) - london_to_utc(referral)) / H == 71.5


# --------------------------------------------------------------------------- durations

DURATION_EXAMPLES = [
    ("90", 90),
    ("90 mins", 90),
    ("90 minutes", 90),
    ("90 min", 90),
    ("90m", 90),
    ("1:30", 90),
    ("01:30:00", 90),
    ("0:45", 45),
    ("1.5 hrs", 90),
    ("1.5 hours", 90),
    ("1 hour", 60),
    ("2h", 120),
    ("2 HR", 120),
    ("1h 30m", 90),
    ("1h30", 90),
    ("1 hr 30 min", 90),
    ("1 hour 30 minutes", 90),
    ("1 hour and 30 minutes", 90),
    ("45m", 45),
    ("90.0", 90),
    ("89.5", 90),
    ("89.4", 89),
    ("0.5", 1),  # halves round up, not to even
    ("2.5 mins", 3),
    ("90.5", 91),
    ("0", 0),
    ("600", 600),
    ("10h", 600),
    (90, 90),
    (90.0, 90),
    (time(1, 30), 90),
    (timedelta(minutes=85), 85),
]


@pytest.mark.parametrize(("raw", "expected"), DURATION_EXAMPLES)
def test_parse_duration_examples(raw, expected) -> None:
    assert parse_duration(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["601", "10h 1m", "11 hours", "-5", "abc", "1:75", "h", "m", "and", "1:30 mins", "9 days"],
)
def test_parse_duration_rejects(raw) -> None:
    with pytest.raises(ParseError):
        parse_duration(raw)


# --------------------------------------------------------------------------- NHS numbers


@pytest.mark.parametrize(
    "raw",
    ["4010232137", "401 023 2137", "'4010232137", "4010232137.0", "401-023-2137", " 401 023 2137 ",
     "401\xa0023\xa02137", 4010232137, 4010232137.0],
)  # fmt: skip
def test_nhs_number_normalises(raw) -> None:
    assert normalise_nhs_number(raw) == "4010232137"


def test_numeric_nhs_cells_get_their_leading_zeros_back_but_text_does_not() -> None:
    assert normalise_nhs_number(123456789) == "0123456789"
    assert normalise_nhs_number(123456789.0) == "0123456789"
    assert normalise_nhs_number("0123456789") == "0123456789"
    with pytest.raises(ParseError, match="not ten digits"):
        normalise_nhs_number("123456789")
    with pytest.raises(ParseError, match="not ten digits"):
        normalise_nhs_number(float("inf"))


def test_nhs_number_failures_have_distinct_messages() -> None:
    with pytest.raises(ParseError, match="fails the NHS number check"):
        normalise_nhs_number("401 023 2177")  # the sample's R1007
    with pytest.raises(ParseError, match="fails the NHS number check"):
        normalise_nhs_number("4010232138")
    with pytest.raises(ParseError, match="precision was lost in Excel"):
        normalise_nhs_number("4.01023E+09")
    with pytest.raises(ParseError, match="precision was lost in Excel"):
        normalise_nhs_number("4.010232137e9")
    with pytest.raises(ParseError, match="not ten digits"):
        normalise_nhs_number("401023213")
    with pytest.raises(ParseError, match="not ten digits"):
        normalise_nhs_number("40102321370")
    with pytest.raises(ParseError, match="placeholder"):
        normalise_nhs_number("0000000000")  # passes modulus 11 but is not a person


def test_nhs_check_digit_ok_examples() -> None:
    assert nhs_check_digit_ok("4010232137")
    assert not nhs_check_digit_ok("4010232138")
    assert not nhs_check_digit_ok("401023213")
    assert not nhs_check_digit_ok("40102321x7")
    # first nine digits whose check value is 10 admit no valid number at all
    assert [nhs_check_digit_ok("401023217" + str(c)) for c in range(10)] == [False] * 10


def check_digit(nine: str) -> int:
    """Independent oracle: 11 - (weighted sum % 11); 11 -> 0; 10 means no valid number."""
    value = 11 - sum(int(c) * (10 - i) for i, c in enumerate(nine)) % 11
    return 0 if value == 11 else value


@st.composite
def valid_nhs_numbers(draw) -> str:
    nine = draw(st.text("0123456789", min_size=9, max_size=9))
    check = check_digit(nine)
    assume(check != 10)
    return nine + str(check)


def nhs_spellings(number: str) -> list[object]:
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    return [number, spaced, f"{number[:3]}-{number[3:6]}-{number[6:]}", "'" + number,
            number + ".0", f"  {spaced}  ", "'" + spaced, float(number), int(number)]  # fmt: skip


@given(valid_nhs_numbers())
def test_valid_nhs_numbers_round_trip_every_spelling(number: str) -> None:
    assert nhs_check_digit_ok(number)
    assume(len(set(number)) > 1)  # all-same-digit placeholders are rejected on purpose
    for spelling in nhs_spellings(number):
        assert normalise_nhs_number(spelling) == number


@given(valid_nhs_numbers(), st.integers(0, 9), st.integers(1, 9))
def test_changing_one_digit_of_a_valid_nhs_number_is_always_rejected(number, pos, shift) -> None:
    altered = number[:pos] + str((int(number[pos]) + shift) % 10) + number[pos + 1 :]
    assert altered != number
    assert not nhs_check_digit_ok(altered)
    with pytest.raises(ParseError):
        normalise_nhs_number(altered)


def test_mod11_detects_every_single_digit_change_exhaustively() -> None:
    """The proof behind the property above, checked over every case.

    Changing digit i (weight w in 2..10) by d (1..9 either way) changes the weighted sum by w*d,
    which is never a multiple of the prime 11, so the sum mod 11 changes; and the map from
    remainder to check value is one-to-one, so the required check value changes (or becomes the
    invalid 10) while the written check digit stays put. Changing the check digit itself leaves
    the sum alone, so the required value no longer matches.
    """
    assert all((w * d) % 11 != 0 for w in range(2, 11) for d in range(-9, 10) if d)
    required = [(11 - r) % 11 for r in range(11)]
    assert len(set(required)) == 11
    # and the algebra agrees with the implementation on every single-digit change of one number
    base = "4010232137"
    for pos in range(10):
        for digit in "0123456789":
            if digit != base[pos]:
                assert not nhs_check_digit_ok(base[:pos] + digit + base[pos + 1 :])


# --------------------------------------------------------------------------- postcodes, ids


@pytest.mark.parametrize(
    ("raw", "district"),
    [("BS1 4DJ", "BS1"), ("bs1 4dj", "BS1"), ("BS59XY", "BS5"), ("BS16 1QY", "BS16"),
     ("BS161QY", "BS16"), ("BA1  1AA", "BA1"), ("EC1A 1BB", "EC1A"), ("W1A 0AX", "W1A"),
     ("M1 1AE", "M1"), ("B33 8TH", "B33"), ("CR2 6XH", "CR2"), (" dn55 1pt ", "DN55"),
     ("BS1", "BS1")],
)  # fmt: skip
def test_postcode_district(raw, district) -> None:
    assert postcode_district(raw) == district


@pytest.mark.parametrize(
    "raw", ["BS14 DJ", "BS1 4D", "12345", "ABC 1DE", "BS1 4DJX", "BS1 ADJ", "BS1 4D1", "not known"]
)
def test_postcode_district_rejects(raw) -> None:
    with pytest.raises(ParseError, match="postcode"):
        postcode_district(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12345", "12345"), ("12345.0", "12345"), ("12345.00", "12345"), ("1", "1"), ("01", "01"),
     (" R1001 ", "R1001"), ("'01", "01"), ("A  1\t2", "A 1 2"), (12345.0, "12345"), (7, "7"),
     ("12.5", "12.5"), ("'", None)],
)  # fmt: skip
def test_normalise_id(raw, expected) -> None:
    assert normalise_id(raw) == expected


@pytest.mark.parametrize(
    "raw", ["Referral ID", "referral_id", "REFERRAL-ID", " Referral  Id ", "\ufeffReferral ID"]
)
def test_normalise_header(raw) -> None:
    assert normalise_header(raw) == "referralid"


def test_normalise_header_keeps_digits_and_drops_punctuation() -> None:
    assert normalise_header("Item 1 (Q1)") == "item1q1"
    assert normalise_header("A&E / ED?") == "aeed"
    assert normalise_header(None) == ""


# --------------------------------------------------------------------------- ages, ints


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "under 18"), (17, "under 18"), (18, "18-24"), (24, "18-24"), (25, "25-34"),
     (34, "25-34"), (35, "35-44"), (44, "35-44"), (45, "45-64"), (64, "45-64"), (65, "65+"),
     (104, "65+")],
)  # fmt: skip
def test_age_band(age, band) -> None:
    assert age_band(age) == band


def test_age_band_rejects_negative() -> None:
    with pytest.raises(ParseError):
        age_band(-1)


def test_age_on() -> None:
    dob = date(2000, 6, 15)
    assert age_on(dob, date(2018, 6, 14)) == 17
    assert age_on(dob, date(2018, 6, 15)) == 18
    assert age_on(dob, dob) == 0
    leap = date(2004, 2, 29)
    assert age_on(leap, date(2022, 2, 28)) == 17
    assert age_on(leap, date(2022, 3, 1)) == 18
    assert age_on(leap, date(2024, 2, 29)) == 20
    with pytest.raises(ParseError):
        age_on(date(2025, 1, 2), date(2025, 1, 1))


@pytest.mark.parametrize(
    ("raw", "expected"), [("3", 3), ("3.0", 3), (" 4 ", 4), ("0", 0), (2, 2), (1.0, 1), ("+1", 1)]
)
def test_parse_int(raw, expected) -> None:
    assert parse_int(raw, 0, 4) == expected


@pytest.mark.parametrize("raw", ["3.5", "x", "5", "-1", "1e1", "", True])
def test_parse_int_rejects(raw) -> None:
    if raw == "":
        assert parse_int(raw, 0, 4) is None
        return
    with pytest.raises(ParseError):
        parse_int(raw, 0, 4)


def test_parse_int_range_message_names_the_range() -> None:
    with pytest.raises(ParseError, match="1 to 5"):
        parse_int("7", 1, 5)


# --------------------------------------------------------------------------- properties: dates

text_dates = st.dates(date(1901, 1, 1), date(2099, 12, 31))
FORMATTERS = {
    "dd/mm/yyyy": lambda d: f"{d.day:02}/{d.month:02}/{d.year}",
    "d/m/yy": lambda d: f"{d.day}/{d.month}/{d.year % 100:02}",
    "dd-Mon-yyyy": lambda d: f"{d.day:02}-{MONTHS[d.month - 1][:3]}-{d.year}",
    "dd Mon yyyy": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "iso": lambda d: d.isoformat(),
    "excel_serial": lambda d: str((d - date(1899, 12, 30)).days),
}


@given(text_dates, st.sampled_from(sorted(FORMATTERS)))
def test_dates_round_trip_through_every_format(d: date, name: str) -> None:
    if name == "d/m/yy":
        assume(1969 <= d.year <= 2068)
    text = FORMATTERS[name](d)
    assert parse_date(text) == d
    assert parse_date(text, formats=(name,)) == d
    assert parse_datetime(text) == (datetime(d.year, d.month, d.day), False)


@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1901, 2099),
    st.sampled_from(["{d:02}/{m:02}/{y}", "{d}/{m}/{y}", "{d}-{m}-{y}", "{d}.{m}.{y}",
                     "{d}/{m}/{yy:02}", "{d:02}/{m:02}/{y} 10:00"]),
)  # fmt: skip
def test_day_and_month_up_to_12_are_never_swapped(day, month, year, pattern) -> None:
    text = pattern.format(d=day, m=month, y=year, yy=year % 100)
    parsed = parse_date(text)
    assert parsed is not None
    assert (parsed.day, parsed.month) == (day, month)


@given(
    st.datetimes(datetime(1901, 1, 1), datetime(2099, 12, 31)).map(
        lambda v: v.replace(microsecond=0)
    ),
    st.sampled_from(["uk", "iso_t", "iso_space", "twelve_hour", "serial"]),
)
def test_datetimes_round_trip(value: datetime, style: str) -> None:
    twelve = f"{(value.hour % 12) or 12}:{value:%M:%S} {'PM' if value.hour >= 12 else 'AM'}"
    serial = (value - datetime(1899, 12, 30)) / timedelta(days=1)
    text = {
        "uk": f"{value:%d/%m/%Y %H:%M:%S}",
        "iso_t": value.isoformat(),
        "iso_space": f"{value:%Y-%m-%d %H:%M:%S}",
        "twelve_hour": f"{value:%d/%m/%Y} {twelve}",
        "serial": repr(serial),
    }[style]
    parsed = parse_datetime(text)
    assert parsed is not None
    expected_known = style != "serial" or value.time() != time(0)
    assert parsed == (value, expected_known)


# --------------------------------------------------------------------------- properties: durations


@given(st.integers(0, 600), st.sampled_from(["hmm", "mins", "minutes", "hm", "hr_min", "plain"]))
def test_durations_round_trip(minutes: int, style: str) -> None:
    h, m = divmod(minutes, 60)
    text = {
        "hmm": f"{h}:{m:02}",
        "mins": f"{minutes} mins",
        "minutes": f"{minutes} minutes",
        "hm": f"{h}h {m}m",
        "hr_min": f"{h} hr {m} min",
        "plain": str(minutes),
    }[style]
    assert parse_duration(text) == minutes


@given(st.integers(601, 100_000))
def test_durations_over_600_are_rejected(minutes: int) -> None:
    with pytest.raises(ParseError, match="0 to 600"):
        parse_duration(f"{minutes} mins")


@given(st.decimals(0, 600, places=3))
def test_fractional_minutes_round_half_up_to_nearest(value: Decimal) -> None:
    expected = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert parse_duration(str(value)) == expected
    assert parse_duration(f"{value} mins") == expected


# --------------------------------------------------------------------------- properties: clocks


def last_sunday(year: int, month: int) -> date:
    d = date(year, month, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def in_spring_gap(local: datetime) -> bool:
    start = datetime.combine(last_sunday(local.year, 3), time(1, 0))
    return start <= local < start + H


def in_autumn_repeat(local: datetime) -> bool:
    start = datetime.combine(last_sunday(local.year, 10), time(1, 0))
    return start <= local < start + H


def test_clock_change_oracle_dates() -> None:
    assert last_sunday(2025, 3) == date(2025, 3, 30)
    assert last_sunday(2025, 10) == date(2025, 10, 26)
    assert last_sunday(2024, 3) == date(2024, 3, 31)


local_times = st.datetimes(datetime(1997, 1, 1), datetime(2037, 12, 31))
clock_change_days = st.integers(1997, 2037).flatmap(
    lambda y: st.sampled_from([last_sunday(y, 3), last_sunday(y, 10)])
)
near_changes = st.builds(
    lambda day, minutes: datetime.combine(day, time(0)) + timedelta(minutes=minutes),
    clock_change_days,
    st.integers(-120, 240),
)


@settings(deadline=None)
@given(st.one_of(local_times, near_changes))
def test_london_to_utc_then_back_is_identity_except_spring_gap(local: datetime) -> None:
    back = utc_to_london(london_to_utc(local))
    if in_spring_gap(local):
        assert back == local + H
    else:
        assert back == local
    offset = local - london_to_utc(local)
    assert offset in (timedelta(0), H)
    if in_autumn_repeat(local):
        assert offset == H  # the first (BST) reading


@settings(deadline=None)
@given(st.one_of(local_times, near_changes))
def test_utc_to_london_then_back_is_identity_except_second_autumn_hour(utc: datetime) -> None:
    repeat_utc = datetime.combine(last_sunday(utc.year, 10), time(1, 0))
    expected = utc - H if repeat_utc <= utc < repeat_utc + H else utc
    assert london_to_utc(utc_to_london(utc)) == expected


# --------------------------------------------------------------------------- properties: messages

ALL_PARSERS = {
    "parse_date": parse_date,
    "parse_datetime": parse_datetime,
    "parse_time": parse_time,
    "parse_duration": parse_duration,
    "normalise_nhs_number": normalise_nhs_number,
    "postcode_district": postcode_district,
    "normalise_id": normalise_id,
    "parse_int": lambda v: parse_int(v, 0, 4),
}
identifying_values = st.one_of(
    st.from_regex(r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}( [0-9]{1,2}:[0-9]{2})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2} [A-Za-z]{3,9} [0-9]{4}", fullmatch=True),
    st.from_regex(r"[A-Z]{1,2}[0-9]{1,2} ?[0-9A-Z]{3,4}", fullmatch=True),
    st.from_regex(r"[0-9]\.[0-9]{2,6}E\+[0-9]{2}", fullmatch=True),
    st.text(min_size=5).filter(lambda v: any(c.isdigit() for c in v) and len(v.strip()) >= 5),
)


@given(identifying_values, st.sampled_from(sorted(ALL_PARSERS)))
def test_error_messages_never_contain_the_value(value: str, parser: str) -> None:
    try:
        ALL_PARSERS[parser](value)
    except ParseError as err:
        message = str(err)
        assert value.strip() not in message
        assert not re.search(r"\d{4,}", message)  # no date, serial or NHS-number fragment
        assert message and message == message.strip()


@pytest.mark.parametrize(
    ("parser", "value"),
    [(normalise_nhs_number, "401 023 2177"), (normalise_nhs_number, "4.01023E+09"),
     (normalise_nhs_number, "0000000000"), (parse_date, "31/02/2025"),
     (parse_date, "13/25/2025"), (parse_date, "04-Foo-2025"), (parse_datetime, "04/03/2025 25:00"),
     (postcode_district, "BS14 DJ"), (parse_duration, "601"), (parse_time, "25:10")],
)  # fmt: skip
def test_known_bad_values_are_not_echoed(parser, value) -> None:
    with pytest.raises(ParseError) as info:
        parser(value)
    message = str(info.value)
    assert value not in message
    assert not any(part in message for part in re.findall(r"\d{2,}|[A-Za-z]*\d+[A-Za-z]*", value))


@given(st.text(max_size=30), st.sampled_from(sorted(ALL_PARSERS)))
def test_any_text_parses_or_raises_parse_error_only(value: str, parser: str) -> None:
    with contextlib.suppress(ParseError):
        ALL_PARSERS[parser](value)
