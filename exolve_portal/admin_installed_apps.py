"""The admin pages of the installed apps (users and groups, login protection, task results) in the staff's words.

Their own admins show English that no catalogue translates: stored permission names
("Can add broadcast"), the role groups' stored names, django-tasks-db's column titles.
These subclasses show the same data in the reader's language; nothing stored changes.
"""

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tasks_db import admin as tasks_admin  # registers DBTaskResult first, replaced below
from django_tasks_db.models import DBTaskResult, get_date_max

from .role_names import MANAGERS, OPERATORS

# Django's default permissions, by their codename's first word.
DEFAULT_ACTIONS = {
    "add": _("%(models)s: adding"),
    "change": _("%(models)s: changing"),
    "delete": _("%(models)s: deleting"),
    "view": _("%(models)s: viewing"),
}


def permission_label(permission: Permission) -> str:
    """A permission as staff read it: "Рассылки: добавление", or its own (translated) name."""
    action = permission.codename.split("_", 1)[0]
    model = permission.content_type.model_class()
    if action in DEFAULT_ACTIONS and model is not None and permission.codename == f"{action}_{model._meta.model_name}":
        models = str(model._meta.verbose_name_plural)
        return str(DEFAULT_ACTIONS[action] % {"models": models[:1].upper() + models[1:]})
    return gettext(permission.name)


class ReadableChoicesMixin:
    """Groups and permissions in the forms' pickers by the names staff read."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in ("permissions", "user_permissions"):
            field.queryset = field.queryset.select_related("content_type")
            field.label_from_instance = permission_label
        return field


class RoleFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(group.pk, str(group)) for group in Group.objects.order_by("name")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(groups__pk=self.value())
        return queryset


class StaffUserAdmin(ReadableChoicesMixin, UserAdmin):
    """Django's users' admin; "Add" leads Managers to the invitation (exolve_portal/invitations.py).

    Django's own add form needs the change permission too (it would otherwise refuse),
    which Managers do not have: it lets one grant any permission.
    """

    list_filter = ("is_staff", "is_superuser", "is_active", RoleFilter)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_change_permission(request):
            return redirect("invite_colleague")
        return super().add_view(request, form_url, extra_context)


class RoleGroupAdmin(ReadableChoicesMixin, GroupAdmin):
    list_display = ["__str__"]

    def get_fields(self, request, obj=None):
        # A role's name is what the portal finds it by: shown, not changed.
        if obj is not None and obj.name in (OPERATORS, MANAGERS):
            return ["role_name", "permissions"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return ["role_name"] if obj is not None and obj.name in (OPERATORS, MANAGERS) else []

    @admin.display(description=_("name"))
    def role_name(self, group):
        return str(group)


class TaskResultAdmin(tasks_admin.DBTaskResultAdmin):
    """Background tasks as engineers need them: what ran, when, how it ended, in the reader's language."""

    list_display = ["enqueued_at", "task_path", "status", "started_at", "finished_at"]
    list_filter = ["status"]
    change_form_template = "admin/task_result_change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [
            "task_path",
            "status",
            "enqueued_at",
            "started_at",
            "finished_at",
            "run_after_shown",
            "arguments",
            "return_value",
            "exception_class_path",
            "formatted_traceback",
        ]

    @admin.display(description=_("traceback"))
    def formatted_traceback(self, obj):
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "-"

    @admin.display(description=_("run after"))
    def run_after_shown(self, obj):
        return self.get_empty_value_display() if obj.run_after == get_date_max() else obj.run_after

    @admin.display(description=_("arguments"))
    def arguments(self, obj):
        values = obj.args_kwargs or {}
        shown = [(repr(value),) for value in values.get("args", [])]
        shown += [(f"{name} = {value!r}",) for name, value in values.get("kwargs", {}).items()]
        return format_html_join(", ", "{}", shown) or "-"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "subtitle": gettext("Task %(id)s") % {"id": object_id}}
        return super().changeform_view(request, object_id, form_url, extra_context)


class LoginAttemptAdmin(axes_admin.AccessAttemptAdmin):
    @admin.display(description=_("state"))
    def status(self, obj):
        return super().status(obj)


for model, model_admin in (
    (User, StaffUserAdmin),
    (Group, RoleGroupAdmin),
    (DBTaskResult, TaskResultAdmin),
    (AccessAttempt, LoginAttemptAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
