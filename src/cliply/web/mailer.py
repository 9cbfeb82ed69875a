"""Outgoing mail: SMTP when SMTP_HOST is set, otherwise the file mailer.

The file mailer writes each message as an .eml file under CLIPLY_DATA_DIR/mail and logs
its subject and recipient, so a self-hosted install without SMTP (and the tests) can still
follow a reset link.
"""

from __future__ import annotations

import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import structlog

from cliply.config import Settings, get_settings

log = structlog.get_logger()


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(body)
    return msg


class FileMailer:
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder, self.sender = folder, sender

    def send(self, to: str, subject: str, body: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(_message(self.sender, to, subject, body)))
        log.info("mail written", to=to, subject=subject, path=str(path))


class SmtpMailer:
    def __init__(self, s: Settings) -> None:
        self.s = s

    def send(self, to: str, subject: str, body: str) -> None:
        s = self.s
        msg = _message(s.mail_from, to, subject, body)
        ctx = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=30, context=ctx)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=ctx)
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
            smtp.send_message(msg)
        log.info("mail sent", to=to, subject=subject)


def get_mailer() -> Mailer:
    s = get_settings()
    if s.smtp_host:
        return SmtpMailer(s)
    return FileMailer(s.cliply_data_dir / "mail", s.mail_from)
