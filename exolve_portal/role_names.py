"""The two staff groups' names, in a module any app may import.

`roles.py` lists every app's permissions, so it sits above the apps; code below them
(the jobs app, say) that only needs to recognise a group imports its name from here.
"""

OPERATORS = "Operators"
MANAGERS = "Managers"


def shown_name(name: str) -> str:
    """A group's name as staff read it: the two roles in the reader's language, others as stored."""
    from django.utils.translation import gettext

    # The stored names stay English (code and migrations find the groups by them).
    shown = {OPERATORS: gettext("Operators"), MANAGERS: gettext("Managers")}
    return shown.get(name, name)
