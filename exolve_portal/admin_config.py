"""Django's admin app with the portal's admin site (exolve_portal/admin_site.py) as `admin.site`."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "exolve_portal.admin_site.PortalAdminSite"
