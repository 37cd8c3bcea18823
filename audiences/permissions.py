"""The audiences app's permissions as `has_perm` takes them ("app_label.codename"), each named once.

The codenames are Django's defaults for the stop list's model; the roles
(`exolve_portal/roles.py`) and the admin import these names.
"""

ADD_TO_STOP_LIST_PERMISSION = "audiences.add_stoplistentry"
VIEW_STOP_LIST_PERMISSION = "audiences.view_stoplistentry"
CHANGE_STOP_LIST_PERMISSION = "audiences.change_stoplistentry"
DELETE_FROM_STOP_LIST_PERMISSION = "audiences.delete_stoplistentry"
