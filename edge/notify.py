"""Notification settings (seed 000's ``NotificationConfig``) and the Z report email, sent with smtplib."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pydantic import BaseModel, ConfigDict, Field

from edge.config import EmailAddress, SmtpConfig


class NotificationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_list: list[EmailAddress] = Field(default_factory=list, max_length=50)
    send_z_report_email: bool = False


class MailFailed(Exception):
    """The mail server could not be reached or refused the message."""


def z_report_message(smtp: SmtpConfig, recipients: list[str], device_name: str, number: str | None, amount_cents: int, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = smtp.from_address
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"Z report {number or ''} - {device_name}".replace("  ", " ")
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=smtp.from_address.rpartition("@")[2])
    units, cents = divmod(abs(amount_cents), 100)
    sign = "-" if amount_cents < 0 else ""
    message.set_content(f"Z report of {device_name}\nNet total: {sign}{units}.{cents:02d}\n\n{text}\n")
    return message


def send(smtp: SmtpConfig, message: EmailMessage) -> None:
    """Deliver one message; every failure becomes ``MailFailed``."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username and smtp.password:
                client.login(smtp.username, smtp.password.get_secret_value())
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(f"{type(exc).__name__}: {exc}") from exc
