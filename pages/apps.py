from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PagesConfig(AppConfig):
    """The staff pages and reports: dashboard, send page, broadcasts, calls table, exports."""

    name = "pages"
    verbose_name = _("Staff pages")

    def ready(self):
        # Registers the background job kind (large exports of calls) with the jobs app.
        from . import jobs  # noqa: F401
