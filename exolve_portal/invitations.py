"""Inviting a colleague: one form makes a staff account with a role and mails a link to set a password.

A Manager (or a superuser) fills in a name, an e-mail address and a role (Operator or
Manager; nothing else can be granted here). The account is a staff account in that
role's group, with no usable password; the e-mail carries a link made by Django's
password-reset tokens (valid PASSWORD_RESET_TIMEOUT, by default three days, and only
until the password is set). Inviting the address of an existing account again gives it
staff access and the role, and mails a new link; a superuser's account is never touched.
The user name is the e-mail address.
"""

import logging

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .role_names import MANAGERS, OPERATORS
from .roles import ROLE_DESCRIPTIONS

logger = logging.getLogger(__name__)

ROLE_CHOICES = [
    (OPERATORS, format_lazy("{}: {}", _("Operator"), ROLE_DESCRIPTIONS[OPERATORS])),
    (MANAGERS, format_lazy("{}: {}", _("Manager"), ROLE_DESCRIPTIONS[MANAGERS])),
]


class InviteForm(forms.Form):
    name = forms.CharField(
        label=_("First and last name"),
        max_length=150,
        help_text=_("First name and last name, as colleagues know them."),
    )
    email = forms.EmailField(
        label=_("E-mail"), help_text=_("The invitation goes there; it is also the user name to log in with.")
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=ROLE_CHOICES, widget=forms.RadioSelect(attrs={"class": "radiolist"}), initial=OPERATORS
    )

    def clean_email(self):
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"]).lower()
        existing = _account_for(email)
        if existing is not None and existing.is_superuser:
            raise forms.ValidationError(
                _("This address belongs to an administrator's account: it cannot be changed by an invitation.")
            )
        User = get_user_model()
        if existing is None and User._default_manager.filter(**{f"{User.USERNAME_FIELD}__iexact": email}).exists():
            raise forms.ValidationError(
                _("Another account already uses this address as its user name. Ask an administrator to sort it out.")
            )
        return email


def _account_for(email: str):
    """The account with this e-mail address (the oldest, if several), or None."""
    return get_user_model()._default_manager.filter(email__iexact=email).order_by("pk").first()


@transaction.atomic
def make_staff_account(*, name: str, email: str, role: str):
    """The account for `email` (new or existing, never a superuser's): staff, active, in `role` only."""
    if role not in (OPERATORS, MANAGERS):
        raise ValueError(f"not a role: {role}")
    User = get_user_model()
    user = _account_for(email)
    if user is None:
        user = User(**{User.USERNAME_FIELD: email, "email": email})
        user.set_unusable_password()
    if user.is_superuser:
        raise PermissionError("an invitation never changes a superuser")
    first, _space, last = name.strip().partition(" ")
    user.first_name, user.last_name = first, last.strip()
    user.email = user.email or email
    user.is_staff = user.is_active = True
    user.save()
    user.groups.remove(*Group.objects.filter(name__in=[OPERATORS, MANAGERS]))
    user.groups.add(Group.objects.get(name=role))
    return user


def send_invitation(request, user, *, invited_by) -> None:
    """One e-mail with a link to set a password (Django's password-reset confirmation page)."""
    link = request.build_absolute_uri(
        reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    )
    context = {
        "user": user,
        "username": user.get_username(),
        "invited_by": invited_by.get_full_name() or invited_by.get_username(),
        "link": link,
        "login_url": request.build_absolute_uri(reverse("admin:login")),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = gettext("You are invited to the Exolve Voice Portal")
    body = render_to_string("registration/invitation_email.txt", context, request=request)
    send_mail(subject, body, None, [user.email])


@permission_required("auth.add_user", raise_exception=True)
def invite_colleague(request):
    """The invitation page (behind the admin's login: urls.py wraps it in admin_view)."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = make_staff_account(name=data["name"], email=data["email"], role=data["role"])
        try:
            send_invitation(request, user, invited_by=request.user)
        except OSError:  # smtplib's errors included: the mail server refused or did not answer
            logger.exception("The invitation e-mail to user %s could not be sent", user.pk)
            messages.error(
                request,
                gettext(
                    "The account of %(email)s is ready, but the e-mail could not be sent: the mail server did "
                    "not take it. Ask the administrator to check the mail settings (EMAIL_URL), then invite "
                    "the same address again."
                )
                % {"email": user.email},
            )
            return redirect("invite_colleague")
        messages.success(
            request,
            gettext("The invitation was sent to %(email)s: the link in it lets them set a password and log in.")
            % {"email": user.email},
        )
        return redirect("invite_colleague")
    context = {
        **admin.site.each_context(request),
        "title": gettext("Invite a colleague"),
        "form": form,
    }
    return render(request, "admin/invite_colleague.html", context)
