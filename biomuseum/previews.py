"""Preview links: a signed, expiring token that shows one unpublished record as the public will see it.

The admin's Preview button mints a token for the record on the page; the API's detail endpoint answers that
record, published or not, to whoever brings the token as `?preview=`, marked `private, no-store` and never
through the page cache (which hands any request carrying `preview` straight to Django). The token names the
model and the primary key, so it shows that record and no other, under any slug it has, until it expires.
"""

from django.conf import settings
from django.core import signing
from django.db import models
from rest_framework import status
from rest_framework.exceptions import APIException

SALT = "biomuseum.preview"


class PreviewRefused(APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "preview_invalid"
    default_detail = "This preview link is invalid."


def make_token(instance: models.Model) -> str:
    return signing.dumps([instance._meta.label_lower, instance.pk], salt=SALT, compress=False)


def record_pk(token: str, model: type[models.Model]):
    """The primary key the token shows of `model`; PreviewRefused when it is forged, expired or for another."""
    try:
        label, pk = signing.loads(token, salt=SALT, max_age=settings.PREVIEW_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        message = "This preview link has expired: open Preview in the admin again."
        raise PreviewRefused(message, "preview_expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise PreviewRefused() from None
    if label != model._meta.label_lower:
        raise PreviewRefused("This preview link is for another kind of record.", "preview_other_record")
    return pk
