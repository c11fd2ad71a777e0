"""Outgoing e-mail: SMTP when configured, otherwise files in the outbox folder."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from core.db import utcnow

logger = logging.getLogger(__name__)


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text e-mail."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@experts-na>"
    message.set_content(body)
    host = current_app.config["SMTP_HOST"]
    if host:
        with smtplib.SMTP(host, current_app.config["SMTP_PORT"], timeout=15) as smtp:
            if current_app.config["SMTP_STARTTLS"]:
                smtp.starttls()
            if current_app.config["SMTP_USERNAME"]:
                smtp.login(current_app.config["SMTP_USERNAME"], current_app.config["SMTP_PASSWORD"])
            smtp.send_message(message)
        logger.info("mail %r sent to %s through %s", subject, to, host)
        return
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    logger.info("mail %r to %s written to %s", subject, to, path)
