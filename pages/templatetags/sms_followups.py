"""{% broadcast_sms broadcast as sms %}: a broadcast's follow-up SMS counted per state, for its page and the dashboard.

None when the broadcast has no follow-up SMS (no query then). One grouped query otherwise.
"""

from django import template

from calls.models import SmsState
from calls.sms_followups import SMS_WORDS, sms_counts

register = template.Library()


@register.simple_tag
def broadcast_sms(broadcast):
    if not getattr(broadcast, "sms_text", ""):
        return None
    counts = sms_counts(broadcast)
    return {
        "sender": broadcast.sms_sender,
        "text": broadcast.sms_text,
        "rows": [(str(SMS_WORDS[state]), state, counts.get(state, 0)) for state in SmsState.values],
        "sent": counts.get(SmsState.SENT, 0),
        "total": sum(counts.values()),
    }
