"""The admin's login form: says plainly when an account may not come in, never whether a user exists.

Django's own form answers "enter the correct username and password for a staff account"
both to a wrong password and to a right password on an account without staff access, so
a colleague added without "staff status" is told her password is wrong. Here the plain
refusal comes only after the password was right; a wrong password, for a user who exists
or not, still gets Django's one generic message (and django-axes counts it as before).
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NOT_ACTIVE = _("This account is switched off and may not use the portal. Ask a Manager to invite you again.")
NOT_STAFF = _(
    "This account may not use the portal yet: it has no staff access. "
    "Ask a Manager to invite you again (the invitation gives the access)."
)


class PortalLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        if not user.is_active:
            raise ValidationError(NOT_ACTIVE, code="inactive")
        if not user.is_staff:
            raise ValidationError(NOT_STAFF, code="not_staff")

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            # Django's backend refuses an inactive account as if the password were wrong.
            if error.code == "invalid_login" and self._inactive_with_right_password():
                raise ValidationError(NOT_ACTIVE, code="inactive") from None
            raise

    def _inactive_with_right_password(self) -> bool:
        if self.request is not None and getattr(self.request, "axes_locked_out", False):
            return False  # locked out: no password is checked at all
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return False
        try:
            user = get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            return False
        return not user.is_active and user.check_password(password)
