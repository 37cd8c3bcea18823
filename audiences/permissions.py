"""The audiences app's permissions as `has_perm` takes them ("app_label.codename"), each named once.

The codenames are Django's defaults for the stop list's model; the roles
(`exolve_portal/roles.py`) and the admin import these names.
"""

ADD_TO_STOP_LIST_PERMISSION = "audiences.add_stoplistentry"
VIEW_STOP_LIST_PERMISSION = "audiences.view_stoplistentry"
CHANGE_STOP_LIST_PERMISSION = "audiences.change_stoplistentry"
DELETE_FROM_STOP_LIST_PERMISSION = "audiences.delete_stoplistentry"

# Contacts and lists: Operators view them, import and add; Managers change and delete.
VIEW_CONTACTS_PERMISSION = "audiences.view_contact"
ADD_CONTACTS_PERMISSION = "audiences.add_contact"
CHANGE_CONTACTS_PERMISSION = "audiences.change_contact"
DELETE_CONTACTS_PERMISSION = "audiences.delete_contact"
VIEW_LISTS_PERMISSION = "audiences.view_contactlist"
ADD_LISTS_PERMISSION = "audiences.add_contactlist"
CHANGE_LISTS_PERMISSION = "audiences.change_contactlist"
DELETE_LISTS_PERMISSION = "audiences.delete_contactlist"
VIEW_MEMBERS_PERMISSION = "audiences.view_membership"
ADD_MEMBERS_PERMISSION = "audiences.add_membership"
REMOVE_MEMBERS_PERMISSION = "audiences.delete_membership"
VIEW_CONSENT_PERMISSION = "audiences.view_consent"
ADD_CONSENT_PERMISSION = "audiences.add_consent"
CHANGE_CONSENT_PERMISSION = "audiences.change_consent"
# Withdrawing a consent puts the number on the stop list: whoever may do that may withdraw.
WITHDRAW_CONSENT_PERMISSION = ADD_TO_STOP_LIST_PERMISSION

OPERATOR_AUDIENCE_PERMISSIONS = [
    VIEW_CONTACTS_PERMISSION,
    ADD_CONTACTS_PERMISSION,
    VIEW_LISTS_PERMISSION,
    ADD_LISTS_PERMISSION,
    VIEW_MEMBERS_PERMISSION,
    ADD_MEMBERS_PERMISSION,
    VIEW_CONSENT_PERMISSION,
    ADD_CONSENT_PERMISSION,
]
MANAGER_AUDIENCE_PERMISSIONS = [
    CHANGE_CONTACTS_PERMISSION,
    DELETE_CONTACTS_PERMISSION,
    CHANGE_LISTS_PERMISSION,
    DELETE_LISTS_PERMISSION,
    REMOVE_MEMBERS_PERMISSION,
    CHANGE_CONSENT_PERMISSION,
]
