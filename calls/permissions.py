"""The calls app's permissions as `has_perm` takes them ("app_label.codename"), each named once.

The codenames are declared on the models (`Meta.permissions`, Django's defaults);
the roles (`exolve_portal/roles.py`), the admin, the staff pages and the forms import
these names instead of spelling the strings again.
"""

SEND_PERMISSION = "calls.send_voicemessage"
STEER_PERMISSION = "calls.steer_broadcast"
SEND_ANY_TIME_PERMISSION = "calls.send_any_time"
REFRESH_PERMISSION = "calls.refresh_call"
VIEW_CALLS_PERMISSION = "calls.view_call"
VIEW_BROADCASTS_PERMISSION = "calls.view_broadcast"
