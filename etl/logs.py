"""Logging for the ETL, the scheduler and the dashboard: one line per event, JSON lines when
SIS_LOG_FORMAT=json. Events carry run ids, file names, counts and durations as fields; nothing
logged is personal data (messages are the ledger's plain words, which never quote a person)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from etl import settings

# Fields a log call may add with `extra=`; the JSON formatter writes each one present.
FIELDS = (
    "event",
    "run_id",
    "file",
    "entity",
    "status",
    "read",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "files",
    "seconds",
)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: int = logging.INFO) -> None:
    """Send log lines to stderr in the chosen format (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.get("SIS_LOG_FORMAT") == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
