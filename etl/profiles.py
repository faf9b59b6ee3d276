"""Source profiles: header aliases, value labels, date formats and sheet, from TOML.

The ``default`` profile ships with the package; a service's own profile is a TOML file in
``SIS_PROFILES`` that extends it (aliases and labels are added; ``date_formats`` and ``sheet``
replace the default's when given).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from etl import settings
from etl.parsers import normalise_header
from etl.schema import ENTITIES, SCHEMAS

DEFAULT_PATH = Path(__file__).with_name("profiles") / "default.toml"
_LABEL_NORMALISE = re.compile(r"[^0-9a-z]+")


class ProfileError(ValueError):
    """A profile is missing or malformed; the message says which and why."""


def normalise_label(value: str) -> str:
    """Labels match ignoring case, spaces and punctuation (curly quotes included)."""
    return _LABEL_NORMALISE.sub("", value.strip().lower())


@dataclass
class Profile:
    name: str
    date_formats: tuple[str, ...]
    sheet: str
    # entity -> normalised header -> (canonical column, "value" | "time")
    headers: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    # domain -> normalised label -> code
    labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def code(self, domain: str, value: str) -> str | None:
        """The canonical code for a label, or None when the label is unknown."""
        return self.labels.get(domain, {}).get(normalise_label(value))


def _merge(into: dict, extra: dict, name: str) -> None:
    for entity in ENTITIES:
        for section in ("columns", "time_columns"):
            for col, aliases in extra.get(entity, {}).get(section, {}).items():
                into.setdefault(entity, {}).setdefault(section, {}).setdefault(col, [])
                into[entity][section][col] += list(aliases)
    for domain, codes in extra.get("labels", {}).items():
        known = into.get("labels", {}).get(domain)
        if known is None:
            raise ProfileError(f"Profile {name!r}: there are no labels called {domain!r}.")
        for code, labels in codes.items():
            if code not in known:  # a profile adds labels; the codes are the contract's
                raise ProfileError(
                    f"Profile {name!r}: {code!r} is not one of the {domain!r} codes; "
                    f"use one of {', '.join(known)}."
                )
            known[code] += list(labels)
    for key in ("date_formats", "sheet"):
        if key in extra:
            into[key] = extra[key]


def _build(name: str, raw: dict) -> Profile:
    profile = Profile(name, tuple(raw.get("date_formats", ())), raw.get("sheet", ""))
    for entity in ENTITIES:
        known = {c.name for c in SCHEMAS[entity]}
        headers: dict[str, tuple[str, str]] = {}
        for col in known:
            headers[normalise_header(col)] = (col, "value")
        for section, kind in (("columns", "value"), ("time_columns", "time")):
            for col, aliases in raw.get(entity, {}).get(section, {}).items():
                if col not in known:
                    raise ProfileError(f"Profile {name!r}: {entity} has no column {col!r}.")
                for alias in aliases:
                    headers[normalise_header(alias)] = (col, kind)
        profile.headers[entity] = headers
    for domain, codes in raw.get("labels", {}).items():
        table = profile.labels.setdefault(domain, {})
        for code, labels in codes.items():
            table[normalise_label(code)] = code
            for label in labels:
                table[normalise_label(label)] = code
    return profile


def load_profile(name: str = "default", folder: Path | None = None) -> Profile:
    """The named profile: ``default``, or ``<folder>/<name>.toml`` merged over the default."""
    raw = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    if name != "default":
        path = (folder or settings.profiles_dir()) / f"{name}.toml"
        if not path.is_file():
            raise ProfileError(f"There is no source profile {name!r} (looked for {path}).")
        try:
            extra = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProfileError(f"The source profile {path.name} is not valid TOML: {exc}") from exc
        _merge(raw, extra, name)
    return _build(name, raw)
