"""Validate and canonicalise: text rows in, typed mart rows out, every failure collected.

Like pandera's lazy mode, a chunk is checked completely before anything is decided: each failed
check becomes one failure record (row, column, check, reason, value), and a row with any failure
is quarantined. Parsing runs once per distinct value, so large files cost little more than their
number of distinct dates, codes and ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etl import datetimes, derive
from etl import parsers as p
from etl.applying import apply_unique, apply_unique_except, apply_unique_where
from etl.profiles import Profile
from etl.row_hash import row_hash
from etl.schema import SCHEMAS, Column
from etl.vectorised import nhs_canonical

ID_MAX = 64  # the marts' id columns are String(64)
PLAIN_ID = r"[A-Za-z0-9][A-Za-z0-9_/-]{0,63}"  # ids normalise_id leaves as they are
# Columns whose raw values are never copied into the quarantine or a message.
SECRET_COLUMNS = frozenset({"client_id", "nhs_number", "date_of_birth", "postcode", "age"})

MART_COLUMNS = {
    "referrals": [
        "referral_id",
        "client_key",
        "nhs_key",
        "received_at",
        "received_date",
        "time_known",
        "referral_source",
        "age_band",
        "gender",
        "ethnicity",
        "postcode_district",
        "status",
        "discharged_on",
        "discharge_reason",
    ],
    "contacts": [
        "contact_id",
        "referral_id",
        "contact_type",
        "scheduled_at",
        "occurred_at",
        "duration_minutes",
        "method",
        "outcome",
        "practitioner",
        "activity_on",
    ],
    "feedback": ["response_id", "referral_id", "submitted_on", "fft_response"],
    "outcomes": [
        "referral_id",
        "measure",
        "administered_on",
        *(f"item_{i}" for i in range(1, 11)),
        "score",
        "prorated",
    ],
}
KEYS = {
    "referrals": ["referral_id"],
    "contacts": ["contact_id"],
    "feedback": ["response_id"],
    "outcomes": ["referral_id", "measure", "administered_on"],
}


@dataclass
class ChunkResult:
    good: pd.DataFrame
    failures: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


class Validator:
    """Checks the chunks of one file; keeps the little state that spans chunks."""

    def __init__(self, entity: str, profile: Profile, exported_at: dt.datetime, key: bytes) -> None:
        self.entity = entity
        self.profile = profile
        self.exported_at = exported_at  # UTC, naive
        self.export_date = p.utc_to_london(exported_at).date()
        self.key = key
        self.schema = {c.name: c for c in SCHEMAS[entity]}
        self._occurrences: Counter[str] = Counter()

    # -- helpers --------------------------------------------------------------------------------
    def pseudonym(self, prefix: str, value: str) -> str:
        return hmac.new(self.key, (prefix + value).encode(), hashlib.sha256).hexdigest()

    def _fail(
        self,
        res: ChunkResult,
        chunk: pd.DataFrame,
        mask: pd.Series,
        column: str | None,
        code: str,
        reason: str | pd.Series,
        show_value: bool = True,
    ) -> None:
        if not mask.any():
            return
        key_col = KEYS[self.entity][0]
        keys = chunk.get(key_col, pd.Series("", index=chunk.index))
        reasons = reason if isinstance(reason, pd.Series) else None
        for idx in mask[mask].index:
            value = None
            if show_value and column in chunk.columns and column not in SECRET_COLUMNS:
                value = str(chunk.at[idx, column])[:200] or None
            res.failures.append(
                {
                    "source_row": int(chunk.at[idx, "_row"]),
                    "record_key": keys.at[idx][:200] or None,
                    "reason_code": code,
                    "reason": reasons.at[idx] if reasons is not None else reason,
                    "column_name": column,
                    "value": value,
                }
            )

    def _warn(
        self,
        res: ChunkResult,
        chunk: pd.DataFrame,
        mask: pd.Series,
        column: str,
        code: str,
        message: str | pd.Series,
    ) -> None:
        key_col = KEYS[self.entity][0]
        for idx in mask[mask].index:
            res.warnings.append(
                {
                    "source_row": int(chunk.at[idx, "_row"]),
                    "record_key": chunk.at[idx, key_col][:200]
                    if key_col in chunk.columns
                    else None,
                    "code": code,
                    "column_name": column,
                    "message": message.at[idx] if isinstance(message, pd.Series) else message,
                }
            )

    def parse(self, res: ChunkResult, chunk: pd.DataFrame, name: str) -> pd.Series:
        """The parsed values of one canonical column; failures and blanks of required recorded."""
        col: Column = self.schema[name]
        if name not in chunk.columns:
            return pd.Series([None] * len(chunk), index=chunk.index, dtype=object)
        if col.kind == "id":
            values, errors = apply_unique_except(chunk[name], _parse_id, PLAIN_ID)
        elif col.kind == "nhs":
            ok = nhs_canonical(chunk[name])
            values, errors = apply_unique_where(chunk[name], p.normalise_nhs_number, ok)
        else:
            values, errors = apply_unique(chunk[name], self._parser(col))
        self._record(res, chunk, col, values.isna(), errors)
        return values

    def parse_datetimes(
        self, res: ChunkResult, chunk: pd.DataFrame, name: str
    ) -> tuple[pd.Series, pd.Series]:
        """(London wall-clock datetime64, time known) of a datetime column and its separate
        time column if the export has one; failures recorded like `parse`."""
        if name not in chunk.columns:
            return datetimes.parse_local(pd.Series("", index=chunk.index), ())[:2]
        formats = self.profile.date_formats or p.DEFAULT_DATE_FORMATS
        local, known, errors = datetimes.parse_local(chunk[name], formats)
        self._record(res, chunk, self.schema[name], local.isna(), errors)
        time_col = f"{name}__time"
        if time_col in chunk.columns:
            local, known, time_errors = datetimes.with_time(local, known, chunk[time_col])
            bad = time_errors.notna()
            self._fail(res, chunk, bad, time_col, "invalid_time", time_errors)
        return local, known

    def _record(
        self,
        res: ChunkResult,
        chunk: pd.DataFrame,
        col: Column,
        empty: pd.Series,
        errors: pd.Series,
    ) -> None:
        name = col.name
        if col.required:  # blank, or a sentinel that means blank (01/01/1900...)
            self._fail(
                res,
                chunk,
                empty & errors.isna(),
                name,
                "missing_required",
                f"{name} is blank, but every {self.entity} row needs it.",
            )
        bad = errors.notna()
        if col.kind in ("nhs", "postcode"):
            self._warn(res, chunk, bad, name, f"{name}_dropped", errors)
        else:
            code = {"code": "unknown_code"}.get(col.kind, f"invalid_{col.kind}")
            self._fail(res, chunk, bad, name, code, errors)

    def _parser(self, col: Column) -> Callable:
        formats = self.profile.date_formats or p.DEFAULT_DATE_FORMATS
        if col.kind == "id":
            return _parse_id
        if col.kind == "text":
            return lambda v: v.strip()[:100] or None
        if col.kind == "code":
            return self._code_parser(col)
        if col.kind == "date":
            return lambda v: p.parse_date(v, formats)
        if col.kind == "duration":
            return p.parse_duration
        if col.kind == "int":
            return lambda v: p.parse_int(v, col.lo, col.hi)
        if col.kind == "number":
            return _parse_number
        if col.kind == "nhs":
            return p.normalise_nhs_number
        if col.kind == "postcode":
            return p.postcode_district
        raise AssertionError(col.kind)

    def _code_parser(self, col: Column) -> Callable:
        def parse_code(value: str) -> str | None:
            if not value.strip():
                return col.blank_code
            code = self.profile.code(col.domain, value)
            if code is None:
                if col.unknown_code:
                    return col.unknown_code
                raise p.ParseError(
                    f"{col.name} has a value that is not a known {col.domain.replace('_', ' ')}; "
                    "if it is valid, add it to the source profile's labels."
                )
            return code

        return parse_code

    def row_hash(self, frame: pd.DataFrame) -> pd.Series:
        return row_hash(frame, MART_COLUMNS[self.entity])

    # -- entry point ----------------------------------------------------------------------------
    def check(self, chunk: pd.DataFrame) -> ChunkResult:
        res = ChunkResult(good=pd.DataFrame())
        frame = getattr(derive, self.entity)(self, res, chunk)
        bad_rows = {f["source_row"] for f in res.failures}
        frame["_row"] = chunk["_row"].to_numpy()
        frame = frame[~frame["_row"].isin(bad_rows)].reset_index(drop=True)
        frame["row_hash"] = self.row_hash(frame) if len(frame) else pd.Series(dtype=np.int64)
        res.good = frame
        return res


def _parse_id(value: str) -> str | None:
    out = p.normalise_id(value)
    if out is not None and len(out) > ID_MAX:
        raise p.ParseError(f"the id is longer than {ID_MAX} characters.")
    return out


def _parse_number(value: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise p.ParseError("the value is not a number.") from None
