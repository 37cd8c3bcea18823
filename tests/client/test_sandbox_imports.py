"""The portal takes what it knows of the sandbox from sandbox_account.py, and the endpoint paths from endpoints.py."""

import ast
import re
from pathlib import Path

from exolve_portal.exolve import endpoints
from exolve_portal.exolve.sandbox.handlers import BODY_FIELDS, HANDLERS

REPO = Path(__file__).resolve().parents[2]
SANDBOX = "exolve_portal.exolve.sandbox"
PATH = re.compile(r"(voice-message|call)/v1/\w+")
# The sandbox itself, its HTTP server and command, and the one place that mounts it.
SANDBOX_USERS = {
    "exolve_portal/exolve_connection.py": {"Sandbox"},
    "exolve_portal/exolve/sandbox_server.py": {"Sandbox"},
    "exolve_portal/management/commands/exolve_sandbox.py": {"Sandbox", "SANDBOX_API_KEY"},
}


def _sandbox_imports(path: Path) -> set[str]:
    """The names `path` imports from the sandbox package ("*module*" for the module itself)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == SANDBOX or node.module.startswith(SANDBOX + "."):
                names |= {alias.name for alias in node.names}
            elif node.module == "exolve_portal.exolve" and any(a.name == "sandbox" for a in node.names):
                names.add("*module*")
        elif isinstance(node, ast.Import) and any(a.name.startswith(SANDBOX) for a in node.names):
            names.add("*module*")
    return names


def test_portal_code_does_not_import_the_sandbox_for_constants():
    sources = [
        path
        for app in ("calls", "voicemessages", "caller_numbers", "audiences", "jobs", "exolve_portal")
        for path in (REPO / app).rglob("*.py")
        if "/exolve/sandbox/" not in path.as_posix() and "/migrations/" not in path.as_posix()
    ]
    found = {}
    for path in sources:
        relative = path.relative_to(REPO).as_posix()
        extra = _sandbox_imports(path) - SANDBOX_USERS.get(relative, set())
        if extra:
            found[relative] = sorted(extra)

    assert len(sources) > 50
    assert found == {}, "import these from exolve_portal.exolve.sandbox_account instead"


def _endpoint_paths_spelled_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and PATH.fullmatch(node.value)
    }


def test_client_and_sandbox_serve_the_same_endpoint_paths_spelled_once():
    exolve = REPO / "exolve_portal/exolve"
    spelled = {
        path.relative_to(REPO).as_posix(): _endpoint_paths_spelled_in(path)
        for path in exolve.rglob("*.py")
        if path.name != "endpoints.py"
    }

    assert set(HANDLERS) == set(BODY_FIELDS) == set(endpoints.ALL)
    assert {name: paths for name, paths in spelled.items() if paths} == {}
