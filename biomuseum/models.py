from django.conf import settings
from django.db import models


class RequiredPasswordChange(models.Model):
    """An account whose password was handed out (`manage.py ensure_curator` prints one): it must choose its
    own before it can do anything else. The row goes when the password changes, by any path
    (biomuseum/passwordchange.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="required_password_change"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} must change their password"
