"""Every setting the project reads, declared once: name, default and help.

Settings come from the environment. ``tests/test_settings.py`` fails when a setting declared here
is not documented in the README, so the README table stays complete.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the warehouse. Empty: a SQLite file `warehouse.db` in SIS_INSTANCE.",
    ),
    Setting("SIS_INSTANCE", "instance", "Folder for local state: SQLite file, inbox, profiles."),
    Setting(
        "SIS_INBOX",
        "",
        "Folder the case-management exports are dropped into. Empty: `inbox` in SIS_INSTANCE.",
    ),
    Setting(
        "SIS_PROFILES",
        "",
        "Folder of source-profile TOML files. Empty: `profiles` in SIS_INSTANCE.",
    ),
    Setting(
        "SIS_PSEUDONYM_KEY",
        "",
        "Secret key for HMAC-SHA256 pseudonyms of client ids and NHS numbers. Required outside "
        "demo mode; make one with "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`.",
        secret=True,
    ),
    Setting(
        "SIS_ENV",
        "production",
        "`production` or `demo`. Demo mode uses a fixed, public pseudonym key.",
    ),
    Setting(
        "SIS_KPI_TARGETS",
        "contact_72h=95,appt_offered_7d=90,dna_rate=10,session_90min=90,fft_positive=90",
        "KPI targets in percent, `measure=value` separated by commas; a measure left out has no "
        "target.",
    ),
    Setting(
        "SIS_KPI_DIRECTIONS",
        "",
        "Overrides of a measure's better direction for SPC, `measure=up|down|neutral` separated "
        "by commas (defaults in kpi/measures.py: higher is better for contact_72h, lower for "
        "dna_rate ...).",
    ),
    Setting(
        "SIS_SPC_REBASE",
        "",
        "SPC rebasing after a known change to the service: `measure@YYYY-MM=reason` separated by "
        "semicolons; new limits are calculated from that month on.",
    ),
    Setting(
        "SIS_STALE_HOURS",
        "26",
        "The dashboard's data-as-of banner turns amber when the newest loaded export is older "
        "than this many hours.",
    ),
    Setting(
        "SIS_POLL_SECONDS",
        "30",
        "How often an open dashboard asks whether new data has landed (it asks only for the data "
        "version; figures are fetched again only when it changes).",
    ),
    Setting(
        "CACHE_REDIS_URL",
        "",
        "Redis URL for the dashboard's shared cache, e.g. `redis://127.0.0.1:6379/0`. Empty: a "
        "filesystem cache in SIS_CACHE_DIR, shared by the gunicorn workers of one machine.",
    ),
    Setting(
        "SIS_CACHE_DIR",
        "",
        "Folder of the filesystem cache. Empty: `cache` in SIS_INSTANCE.",
    ),
    Setting(
        "SIS_SECRET_KEY",
        "",
        "Secret key that signs the dashboard's session cookies. Required outside demo mode (the "
        "app refuses to start without it); make one with "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`. Changing it signs everyone "
        "out.",
        secret=True,
    ),
    Setting(
        "SIS_SESSION_IDLE_HOURS",
        "8",
        "A signed-in session (manager or commissioner link) ends after this many hours without a "
        "request.",
    ),
    Setting(
        "SIS_HTTPS",
        "false",
        "`true` when the dashboard is served over HTTPS (behind a TLS proxy): cookies are then "
        "marked Secure and browsers are told to use HTTPS only (HSTS).",
    ),
    Setting(
        "SIS_TRUSTED_PROXIES",
        "0",
        "How many reverse proxies in front of gunicorn set X-Forwarded-For/-Proto/-Host (1 "
        "behind one nginx). 0: trust none. Ignored in demo mode.",
    ),
    Setting(
        "SIS_BASE_URL",
        "",
        "The dashboard's public address, e.g. `https://sis.example.org`, used in commissioner "
        "links. Empty: `sis links create` prints links to http://127.0.0.1:8050 (`--base-url` "
        "overrides), and the admin page uses the address it was opened at.",
    ),
    Setting(
        "SIS_ETL_SCHEDULE",
        "*/15 * * * *",
        "When `sis etl schedule` runs the ETL on the inbox: a cron expression (minute hour day "
        "month weekday, Europe/London), or six fields with seconds first.",
    ),
    Setting(
        "SIS_RUN_LOCK_WAIT",
        "60",
        "Seconds an ETL run waits for another run to finish before giving up (exit status 75).",
    ),
    Setting(
        "SIS_NOTIFY_WEBHOOK",
        "",
        "URL that gets a JSON POST when a run fails or refuses a file (which file, why; no "
        "personal data). Empty: no webhook.",
        secret=True,
    ),
    Setting(
        "SIS_NOTIFY_EMAIL",
        "",
        "Address(es), comma-separated, emailed when a run fails or refuses a file. Empty: no "
        "email.",
    ),
    Setting(
        "SIS_SMTP_URL",
        "smtp://localhost:25",
        "Mail server for SIS_NOTIFY_EMAIL: `smtp://[user:password@]host[:port]` (STARTTLS when "
        "the server offers it) or `smtps://...` (TLS from the start).",
        secret=True,
    ),
    Setting(
        "SIS_SMTP_FROM",
        "sis-dashboard@localhost",
        "Sender address of notification emails.",
    ),
    Setting(
        "SIS_LOG_FORMAT",
        "text",
        "`text` (one readable line per event) or `json` (one JSON object per line, for a log "
        "collector).",
    ),
    Setting(
        "SIS_CHUNK_ROWS",
        "100000",
        "Rows read, validated and staged at a time; bounds the ETL's memory.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}
DEMO_PSEUDONYM_KEY = "demo-only-not-secret"


def get(name: str) -> str:
    """The value of a declared setting: the environment's, else its default."""
    setting = _BY_NAME[name]
    value = os.environ.get(name, "")
    return value if value != "" else setting.default


def instance_dir() -> Path:
    return Path(get("SIS_INSTANCE"))


def database_url() -> str:
    url = get("DATABASE_URL")
    if url:
        return url
    path = instance_dir() / "warehouse.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def inbox_dir() -> Path:
    return Path(get("SIS_INBOX") or instance_dir() / "inbox")


def profiles_dir() -> Path:
    return Path(get("SIS_PROFILES") or instance_dir() / "profiles")


def cache_dir() -> Path:
    return Path(get("SIS_CACHE_DIR") or instance_dir() / "cache")


def stale_hours() -> float:
    return float(get("SIS_STALE_HOURS"))


def poll_seconds() -> float:
    return max(1.0, float(get("SIS_POLL_SECONDS")))


def is_demo() -> bool:
    return get("SIS_ENV") == "demo"


def session_idle_hours() -> float:
    return float(get("SIS_SESSION_IDLE_HOURS"))


def https() -> bool:
    return get("SIS_HTTPS").strip().lower() in ("1", "true", "yes", "on")


def chunk_rows() -> int:
    return max(1000, int(get("SIS_CHUNK_ROWS")))


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says how to fix it."""


def pseudonym_key() -> bytes:
    key = get("SIS_PSEUDONYM_KEY")
    if key:
        return key.encode()
    if is_demo():
        return DEMO_PSEUDONYM_KEY.encode()
    raise ConfigError(
        "SIS_PSEUDONYM_KEY is not set, so people cannot be pseudonymised and nothing was loaded. "
        "Make a key once with `python -c 'import secrets; print(secrets.token_hex(32))'`, keep it "
        "secret and unchanged (changing it breaks the link between old and new loads), and set "
        "it in the environment. For a demonstration only, set SIS_ENV=demo instead."
    )


DEMO_SECRET_KEY = "demo-only-not-secret-session-key"


def secret_key() -> str:
    key = get("SIS_SECRET_KEY")
    if key:
        return key
    if is_demo():
        return DEMO_SECRET_KEY
    raise ConfigError(
        "SIS_SECRET_KEY is not set, so the dashboard cannot sign its session cookies and will not "
        "start. Make a key once with `python -c 'import secrets; print(secrets.token_hex(32))'`, "
        "keep it secret, and set it in the environment of every web worker (the same key on "
        "all of them). For a demonstration on this machine only, set SIS_ENV=demo instead."
    )
