"""One-time passwords: an account given a password must replace it before it uses the admin or the API.

The requirement is a row (RequiredPasswordChange). It is cleared by `OneTimePasswordValidator`, a password
validator, because Django tells every validator when a password changes (`password_changed`, from
`set_password()` + `save()`): the admin's form, `manage.py changepassword` and the shell alike. A hash
upgraded at sign-in is not a change and clears nothing.
"""

from django.core.exceptions import ValidationError

from .models import RequiredPasswordChange


def password_change_require(*, user) -> None:
    """Mark a password someone else chose (and saw): its owner must replace it at first sign-in."""
    RequiredPasswordChange.objects.get_or_create(user=user)


def must_change_password(user) -> bool:
    return bool(user.pk) and RequiredPasswordChange.objects.filter(user_id=user.pk).exists()


class OneTimePasswordValidator:
    """Refuses the one-time password as its own replacement; a changed password clears the requirement."""

    def validate(self, password, user=None):
        if user is not None and must_change_password(user) and user.check_password(password):
            raise ValidationError("Choose a new password, not the one you were given.", code="password_not_changed")

    def password_changed(self, password, user=None):
        if user is not None and user.pk:
            RequiredPasswordChange.objects.filter(user_id=user.pk).delete()

    def get_help_text(self):
        return "Your password can’t be a one-time password you were given."
