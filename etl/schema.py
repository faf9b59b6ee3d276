"""What each entity's canonical columns are, how they parse, and which are required.

Kinds: ``id`` (a key, Excel artefacts normalised), ``code`` (mapped through the profile's labels
for the named domain), ``datetime`` / ``date`` (UK formats, London wall clock), ``duration``,
``int``, ``number``, ``nhs``, ``postcode``, ``text`` (kept as given, trimmed).
"""

from __future__ import annotations

from dataclasses import dataclass

ENTITIES = ("referrals", "contacts", "feedback", "outcomes")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    domain: str | None = None  # label domain for kind == "code"
    lo: int | None = None
    hi: int | None = None
    unknown_code: str | None = None  # an unknown label maps here instead of failing
    blank_code: str | None = None  # a blank value means this code


REFERRAL_SOURCES = ("urgent_care", "iapt", "gp", "self", "ae", "vcse", "other")

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "referrals": (
        Column("referral_id", "id", required=True),
        Column("client_id", "id", required=True),
        Column("nhs_number", "nhs"),
        Column("referral_received_at", "datetime", required=True),
        Column("referral_source", "code", required=True, domain="referral_source"),
        Column("date_of_birth", "date"),
        Column("age", "int", lo=0, hi=120),
        Column("gender", "code", domain="gender", blank_code="X"),
        Column("ethnicity", "code", domain="ethnicity"),
        Column("postcode", "postcode"),
        Column("status", "code", domain="status"),
        Column("discharged_at", "date"),
        Column("discharge_reason", "code", domain="discharge_reason", unknown_code="other"),
    ),
    "contacts": (
        Column("contact_id", "id", required=True),
        Column("referral_id", "id", required=True),
        Column("contact_type", "code", required=True, domain="contact_type"),
        Column("scheduled_at", "datetime"),
        Column("occurred_at", "datetime"),
        Column("duration_minutes", "duration"),
        Column("method", "code", required=True, domain="method"),
        Column("outcome", "code", required=True, domain="outcome"),
        Column("practitioner", "text"),
    ),
    "feedback": (
        Column("response_id", "id"),
        Column("referral_id", "id"),
        Column("submitted_at", "date", required=True),
        Column("fft_response", "code", required=True, domain="fft_response"),
    ),
    "outcomes": (
        Column("referral_id", "id", required=True),
        Column("measure", "code", required=True, domain="measure"),
        Column("administered_at", "date", required=True),
        *(Column(f"item_{i}", "int", lo=0, hi=5) for i in range(1, 11)),
        Column("total", "number"),
    ),
}

# Columns whose values identify a person: never loaded; named in the run report.
IDENTIFYING_HEADER_WORDS = (
    "name",
    "surname",
    "forename",
    "address",
    "phone",
    "mobile",
    "telephone",
    "email",
    "note",
    "comment",
    "freetext",
    "whatwasgood",
    "whatcouldbebetter",
    "description",
    "narrative",
    "details",
)

# Outcomes that say a contact has happened (a date after the export time is then impossible).
HAPPENED_OUTCOMES = frozenset(
    {"attended", "late_seen", "late_not_seen", "dna", "no_answer", "message_left"}
)
APPOINTMENT_TYPES = frozenset({"assessment", "peer_session", "group_session"})


def required_columns(entity: str) -> list[str]:
    return [c.name for c in SCHEMAS[entity] if c.required]
