"""Request ids: the client's when it is a sane token, a fresh one otherwise."""

import re
import uuid

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def request_id_from(meta: dict) -> str:
    incoming = meta.get("HTTP_X_REQUEST_ID", "")
    return incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
