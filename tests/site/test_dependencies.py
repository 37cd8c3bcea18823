"""The apps depend one way; the Python imports are checked by import-linter (`.importlinter`,
run by `make test`). Templates are not Python: this checks that the voice-message app's
templates do not link to or include the pages or templates of the apps above it.
"""

import re
from pathlib import Path

import voicemessages

PACKAGE_DIR = Path(voicemessages.__file__).parent
# {% url 'portal:...' %} (the staff pages), {% url 'admin:calls_...' %} (or audiences_),
# {% include "calls/..." %} (or pages/, audiences/) and {% extends "admin/calls/..." %}.
TEMPLATE_REFERENCE = re.compile(
    r"""\{%\s*(?:url\s+["'](?:portal:|calls:|admin:(?:calls|audiences)_)"""
    r"""|(?:include|extends)\s+["'](?:admin/)?(?:calls|pages|audiences)/)"""
)


def test_voicemessages_templates_do_not_reach_into_calls():
    templates = sorted((PACKAGE_DIR / "templates").rglob("*.html"))
    assert templates
    offending = {
        str(path.relative_to(PACKAGE_DIR)): TEMPLATE_REFERENCE.findall(path.read_text(encoding="utf-8"))
        for path in templates
    }
    assert not {name: found for name, found in offending.items() if found}
    assert TEMPLATE_REFERENCE.search("{% url 'portal:send' %}") and TEMPLATE_REFERENCE.search(
        '{% include "pages/table.html" %}'
    )
    assert TEMPLATE_REFERENCE.search('{% include "calls/plan_preview.html" %}')
    assert TEMPLATE_REFERENCE.search("{% url 'admin:audiences_stoplistentry_changelist' %}")
