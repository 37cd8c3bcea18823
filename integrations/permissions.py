"""The integrations app's permissions as `has_perm` takes them, each named once.

Managers hold them all (exolve_portal/roles.py).
"""

MANAGER_INTEGRATION_PERMISSIONS = [
    "integrations.view_endpoint",
    "integrations.add_endpoint",
    "integrations.change_endpoint",
    "integrations.delete_endpoint",
    "integrations.view_delivery",
    "integrations.resend_delivery",
    "integrations.view_noticesubscription",
    "integrations.add_noticesubscription",
    "integrations.change_noticesubscription",
    "integrations.delete_noticesubscription",
]
RESEND_PERMISSION = "integrations.resend_delivery"
