"""What an error page and an error e-mail may show: no password, key or token, whatever its name.

Django's own filter hides settings and request headers whose *name* looks secret
(KEY, PASS, TOKEN, ...). A database or cache URL carries its password in the *value*
(`DATABASE_URL=postgres://portal:secret@db/portal`), and the development server puts
the whole environment into the request's META. This filter also hides every
credential written into a URL, whatever the name, and the local variables of each
frame by the same rules, with DEBUG on as well as off.
"""

from __future__ import annotations

import re

from django.utils.functional import LazyObject
from django.views.debug import SafeExceptionReporterFilter

# "scheme://user:password@host": the password part.
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s/:@]*:)(?P<password>[^\s/@]+)(?=@)", re.IGNORECASE)


class SecretsReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|DSN|DATABASE_URL", flags=re.IGNORECASE
    )

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        # Not a lazy object that poses as a string: reading it could run a query.
        if isinstance(cleansed, str) and not isinstance(cleansed, LazyObject):
            return URL_PASSWORD.sub(lambda match: match["head"] + self.cleansed_substitute, cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        # Django cleanses these only with DEBUG off, and only in functions marked
        # @sensitive_variables; a connection's parameters or a URL show in any frame.
        return [
            (name, self.cleanse_setting(name, value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
