"""The API's entries in the audit trail (Django's LogEntry, the admin's history).

Writes only: every send, steer and stop-list addition leaves an entry in the name of the
token's owner, naming the token. Reads are not audited (the token's "last used" shows them),
which keeps a read at one indexed lookup and one UPDATE.
"""

from django.contrib.admin.models import CHANGE, LogEntry
from django.utils.translation import gettext


def audit(token, obj, what: str, flag=CHANGE) -> None:
    owner = token.created_by_id
    if owner is None or obj is None:
        return
    message = gettext("Through the API token “%(name)s”: %(what)s") % {"name": token.name, "what": what}
    LogEntry.objects.log_actions(owner, [obj], flag, change_message=message, single_object=True)
