"""The two staff groups' names, in a module any app may import.

`roles.py` lists every app's permissions, so it sits above the apps; code below them
(the jobs app, say) that only needs to recognise a group imports its name from here.
"""

OPERATORS = "Operators"
MANAGERS = "Managers"
