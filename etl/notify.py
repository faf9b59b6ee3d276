"""Tell someone when a run fails: a JSON POST to SIS_NOTIFY_WEBHOOK and/or an email to
SIS_NOTIFY_EMAIL through SIS_SMTP_URL. Says which file failed and why, in the ledger's plain
words; never a row's content. A notification that cannot be sent is logged, and the run's own
result stands."""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import urllib.request
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from etl import settings

log = logging.getLogger("sis.notify")
TIMEOUT = 10


def failure(run_id: int | None, problems: list[dict[str, str]]) -> dict[str, Any]:
    """The notification of a run whose `problems` are [{file, status, message}] (run_id None:
    the run never reached the ledger)."""
    lines = [f"{p['file']}: {p['message']}" for p in problems]
    host = socket.gethostname()
    which = f"ETL run {run_id}" if run_id is not None else "an ETL run"
    return {
        "service": "sis-dashboard",
        "host": host,
        "run_id": run_id,
        "subject": f"SIS dashboard: {which} on {host} failed ({len(problems)} file(s))",
        "text": "\n".join(lines),
        "files": problems,
    }


def send(note: dict[str, Any]) -> list[str]:
    """Send `note` to every configured channel; the channels it reached."""
    reached = []
    if settings.get("SIS_NOTIFY_WEBHOOK"):
        try:
            _webhook(settings.get("SIS_NOTIFY_WEBHOOK"), note)
            reached.append("webhook")
        except Exception as error:  # noqa: BLE001 (any failure is logged, the run stands)
            log.warning("webhook notification failed: %s", type(error).__name__)
    if settings.get("SIS_NOTIFY_EMAIL"):
        try:
            _email(note)
            reached.append("email")
        except Exception as error:  # noqa: BLE001
            log.warning("email notification failed: %s", type(error).__name__)
    return reached


def _webhook(url: str, note: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(note).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        response.read()


def _email(note: dict[str, Any]) -> None:
    message = EmailMessage()
    message["Subject"] = note["subject"]
    message["From"] = settings.get("SIS_SMTP_FROM")
    message["To"] = settings.get("SIS_NOTIFY_EMAIL")
    message.set_content(
        note["text"] + "\n\nNothing from a refused file was loaded. See the dashboard's Data "
        "quality page, and the report beside the file in the inbox's failed/ folder.\n"
    )
    url = urlsplit(settings.get("SIS_SMTP_URL"))
    secure = url.scheme == "smtps"
    port = url.port or (465 if secure else 25)
    smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with smtp_class(url.hostname or "localhost", port, timeout=TIMEOUT) as smtp:
        if not secure:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)
