"""Extra admin URLs (a button's POST, an import page) named the way Django names its own."""

from django.urls import path


def admin_url(model_admin, route, view, name, kwargs=None):
    """`route` under the model's admin, behind the admin's login and CSRF checks (`admin_view`).

    Named "<app_label>_<model_name>_<name>", e.g. reverse("admin:calls_call_refresh", args=[pk]).
    """
    opts = model_admin.opts
    return path(
        route, model_admin.admin_site.admin_view(view), kwargs, name=f"{opts.app_label}_{opts.model_name}_{name}"
    )
