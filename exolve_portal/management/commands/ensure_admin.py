"""Make sure a first superuser exists, printing its generated password once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Create the first superuser (with a random password, printed once) if there is none.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                _("An administrator already exists. Forgot the password? Run: python manage.py changepassword %(user)s")
                % {"user": username}
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(_("Created the first administrator.")))
        self.stdout.write(_("  username: %(user)s") % {"user": username})
        self.stdout.write(_("  password: %(password)s") % {"password": password})
        self.stdout.write(_("This password is shown only now: write it down or change it after logging in."))
