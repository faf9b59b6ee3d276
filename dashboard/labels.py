"""Plain words for codes: referral sources, groups, contact types and outcomes."""

from __future__ import annotations

from etl.schema import REFERRAL_SOURCES

SOURCES = {
    "urgent_care": "Urgent care",
    "iapt": "NHS Talking Therapies",
    "gp": "GP",
    "self": "Self-referral",
    "ae": "A&E",
    "vcse": "Voluntary sector",
    "other": "Other",
}
assert set(SOURCES) == set(REFERRAL_SOURCES)

GROUPS = {
    **SOURCES,
    "not_known": "Not known",
    "other_districts": "Other districts",
    "not_recorded": "Not recorded",
    # gender (NHS Data Dictionary)
    "1": "Male",
    "2": "Female",
    "3": "Non-binary",
    "4": "Other gender",
    "Z": "Not stated",
    "X": "Not known",
    # ethnicity groups
    "white": "White",
    "mixed": "Mixed",
    "asian": "Asian",
    "black": "Black",
    # contact types and outcomes
    "assessment": "Assessment",
    "peer_session": "Peer session",
    "group_session": "Group session",
    "attended": "Attended",
    "dna": "Did not attend",
    "late_not_seen": "Late, not seen",
    "cancelled_by_client": "Cancelled by client",
    "cancelled_by_service": "Cancelled by service",
}

DIMENSIONS = {
    "referral_source": "Referral source",
    "age_band": "Age band",
    "gender": "Gender",
    "ethnicity": "Ethnicity group",
    "postcode_district": "Postcode district",
}


def group(code: object) -> str:
    text = str(code)
    return GROUPS.get(text, text)
