"""The documented production environment, for tests that run the portal as deployed.

`deploy/env.production.example` is what docs/deploy.md tells people to copy; the tests
read that very file, fill its `<...>` placeholders, and run commands in a subprocess
with nothing else from this process's environment (so a DATABASE_URL set for the test
run, or a developer's shell, cannot change what is tested).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_ENV_FILE = BASE_DIR / "deploy" / "env.production.example"
# Distinctive, so a test can prove it never shows up anywhere.
TEST_API_KEY = "test-exolve-key-7f3c9a1e5b2d4086a9c1e3f5b7d9a2c4"
# Nothing listens on the discard port: a request that should never leave fails at once.
NOWHERE_URL = "http://127.0.0.1:9"


def documented_production_env(**overrides: str) -> dict[str, str]:
    """The production .env as documented, placeholders filled, plus ``overrides``."""
    values = {}
    for line in PRODUCTION_ENV_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key] = value
    filled = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "sqlite:////tmp/exolve-portal-deploy-check.sqlite3",
        "EXOLVE_API_KEY": TEST_API_KEY,
        "EXOLVE_SOURCE_NUMBERS": "74951234567",
    }
    for key, value in values.items():
        if "<" in value:
            values[key] = filled[key]
    # Never the real Exolve from a test.
    values["EXOLVE_API_URL"] = NOWHERE_URL
    values.update(overrides)
    return values


def clean_env(values: dict[str, str]) -> dict[str, str]:
    """A process environment with only the basics and ``values``."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(values)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python manage.py ARGS`` as the deploy guide does, in ``env`` only."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
