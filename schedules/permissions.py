"""The schedules app's permissions as `has_perm` takes them, each named once (roles and pages import them).

Operators see schedules, create them and pause or resume them; Managers also change them
(future runs only) and end them.
"""

VIEW_SCHEDULES_PERMISSION = "schedules.view_schedule"
ADD_SCHEDULES_PERMISSION = "schedules.add_schedule"
PAUSE_SCHEDULES_PERMISSION = "schedules.pause_schedule"
CHANGE_SCHEDULES_PERMISSION = "schedules.change_schedule"
END_SCHEDULES_PERMISSION = "schedules.end_schedule"

OPERATOR_SCHEDULE_PERMISSIONS = [VIEW_SCHEDULES_PERMISSION, ADD_SCHEDULES_PERMISSION, PAUSE_SCHEDULES_PERMISSION]
MANAGER_SCHEDULE_PERMISSIONS = [CHANGE_SCHEDULES_PERMISSION, END_SCHEDULES_PERMISSION]
