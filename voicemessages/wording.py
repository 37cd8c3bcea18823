"""Small pieces of wording shared by the admin and the background jobs."""

from django.utils.translation import gettext as _

# Messages listing names stop after this many, then say how many more.
NAMES_SHOWN = 20


def quoted_names(names, more: int = 0) -> str:
    """“a”, “b”, … and N more: plain text (messages are escaped when shown).

    ``more`` counts names beyond the list given (already cut off elsewhere).
    """
    names = [str(name) for name in names]
    more += max(0, len(names) - NAMES_SHOWN)
    text = ", ".join(f"“{name}”" for name in names[:NAMES_SHOWN])
    if more:
        text += " " + _("and %(count)d more") % {"count": more}
    return text
