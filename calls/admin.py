"""Admin for calls and broadcasts and the refresh actions (sending is on the staff send page).

Each part registers its model: calls (admin_calls, with the calls' way onto the stop
list in admin_call_stop_list), broadcasts (admin_broadcasts), and "Send…" on the voice
messages (admin_send), the follow-up SMS, read only (admin_sms). The stop list's own admin is audiences.admin.
"""

from .admin_broadcasts import BroadcastAdmin  # noqa: F401
from .admin_calls import CallAdmin  # noqa: F401
from .admin_send import VoiceMessageAdminWithSend  # noqa: F401
from .admin_sms import SmsFollowUpAdmin  # noqa: F401
