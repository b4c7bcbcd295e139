"""Mail on the embedded default: each message a `.eml` file under EMAIL_FILE_PATH (var/mail/), which any
mail client opens, so what subscribers would receive can be read without a mail server."""

import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class EmlFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.eml"
            partial = folder / f".{name}.partial"
            partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
            partial.rename(folder / name)  # whole files only: a reader never sees half a message
            sent += 1
        return sent
