"""The apps depend one way: ``calls`` builds on ``voicemessages``, never the reverse.

Every module of ``voicemessages`` is read (not imported: an import inside a function
counts too), and so are its templates, which must not link to or include the calls
app's pages.
"""

import ast
import re
from pathlib import Path

import pytest

import voicemessages

PACKAGE_DIR = Path(voicemessages.__file__).parent
FORBIDDEN = "calls"
# {% url 'portal:...' %} (the calls app's staff pages), {% url 'admin:calls_...' %},
# {% include "calls/..." %} and {% extends "admin/calls/..." %}.
TEMPLATE_REFERENCE = re.compile(
    r"""\{%\s*(?:url\s+["'](?:portal:|calls:|admin:calls_)|(?:include|extends)\s+["'](?:admin/)?calls/)"""
)


def imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` (the code of ``module``, dotted) imports, relative imports resolved."""
    found = set()
    package = module.rsplit(".", 1)[0]  # "voicemessages.admin" and "voicemessages.__init__": "voicemessages"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            found.update(arg.value for arg in node.args[:1] if isinstance(arg, ast.Constant))
    return found


def is_forbidden(name: str) -> bool:
    return name == FORBIDDEN or name.startswith(FORBIDDEN + ".")


def python_modules():
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        yield path, ".".join(relative.parts)


def test_the_scan_finds_imports_of_calls_in_every_form():
    source = (
        "import calls\n"
        "from calls.admin_send import send_page_url\n"
        "def late():\n"
        "    from calls import models\n"
        "    import importlib\n"
        "    importlib.import_module('calls.views')\n"
        "from ..calls import tasks\n"
        "from . import models\n"
    )
    found = {name for name in imported_modules(source, "voicemessages.admin") if is_forbidden(name)}
    assert {"calls", "calls.admin_send", "calls.models", "calls.views", "calls.tasks"} <= found
    assert not is_forbidden("voicemessages.models") and not is_forbidden("callsign")


@pytest.mark.parametrize(("path", "module"), [pytest.param(*pair, id=pair[1]) for pair in python_modules()])
def test_voicemessages_imports_nothing_from_calls(path, module):
    imports = imported_modules(path.read_text(encoding="utf-8"), module)
    assert not {name for name in imports if is_forbidden(name)}


def test_voicemessages_templates_do_not_reach_into_calls():
    templates = sorted((PACKAGE_DIR / "templates").rglob("*.html"))
    assert templates
    offending = {
        str(path.relative_to(PACKAGE_DIR)): TEMPLATE_REFERENCE.findall(path.read_text(encoding="utf-8"))
        for path in templates
    }
    assert not {name: found for name, found in offending.items() if found}
    assert TEMPLATE_REFERENCE.search("{% url 'portal:send' %}") and TEMPLATE_REFERENCE.search(
        '{% include "calls/pages/table.html" %}'
    )
