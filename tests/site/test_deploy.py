"""docs/deploy.md, exercised: the commands it gives, run as it says, on this machine.

The PostgreSQL part creates its own role and database (``portal_deploy_test``), runs
the guide's setup commands in subprocesses with the documented production .env,
starts gunicorn with gunicorn.conf.py, fetches pages, static files and /healthz, runs a
worker, takes a backup and restores it, then drops everything. It is skipped only
when PostgreSQL does not answer and CI is unset; on CI that is a failure.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings
from django.core.management import get_commands

from tests.deploy_env import BASE_DIR, TEST_API_KEY, clean_env, documented_production_env, manage

GUIDE = BASE_DIR / "docs" / "deploy.md"
DEPLOY_DIR = BASE_DIR / "deploy"
SERVER_URL = "postgres://postgres@127.0.0.1:5432"
DATABASE = "portal_deploy_test"
RESTORED = "portal_deploy_test_restore"
HOST = "voice.example.com"
# What nginx adds in front of every request (deploy/nginx-exolve-portal.conf).
VIA_PROXY = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


# --- The guide names only things that exist -----------------------------------------


def test_every_manage_py_command_in_the_guide_exists():
    named = set(re.findall(r"manage\.py (\w+)", GUIDE.read_text()))
    missing = named - set(get_commands())

    assert {"migrate", "setup_roles", "collectstatic", "ensure_admin", "db_worker"} <= named
    assert not missing, f"docs/deploy.md names commands that do not exist: {sorted(missing)}"


def test_every_make_target_in_the_guide_exists():
    targets = set(re.findall(r"^([\w-]+):", (BASE_DIR / "Makefile").read_text(), re.MULTILINE))
    # "make X" as a command: at a line start, in backticks, or after `sudo -u exolve-portal`.
    named = set(re.findall(r"(?:^|`|exolve-portal )make ([a-z][\w-]*)", GUIDE.read_text(), re.MULTILINE))

    assert {"install", "check-deploy"} <= named
    assert named <= targets, sorted(named - targets)


def test_every_file_in_deploy_is_used_by_the_guide():
    guide = GUIDE.read_text()

    for path in DEPLOY_DIR.iterdir():
        assert f"deploy/{path.name}" in guide, f"{path.name} is not referenced from docs/deploy.md"


def test_every_setting_read_from_the_environment_is_described_in_env_example():
    described = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))
    read = set()
    for source in (BASE_DIR / "exolve_portal" / "settings.py", BASE_DIR / "gunicorn.conf.py"):
        text = source.read_text()
        read |= set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        read |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    production = set(documented_production_env())

    assert not read - described, f"missing from .env.example: {sorted(read - described)}"
    assert not production - described, f"missing from .env.example: {sorted(production - described)}"


def test_make_check_deploy_runs_the_same_check_as_the_tests():
    makefile = (BASE_DIR / "Makefile").read_text()

    assert "manage.py check --deploy --fail-level WARNING" in makefile.split("check-deploy:", 1)[1].split("\n\n")[0]


# --- systemd units and the nginx snippet ---------------------------------------------


def _units_for_this_checkout(tmp_path: Path) -> Path:
    """The units with this checkout's paths and user, as they would be installed here."""
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    for unit in DEPLOY_DIR.glob("*.service"):
        text = unit.read_text().replace("/srv/exolve-portal", str(BASE_DIR))
        text = re.sub(r"^(User|Group)=exolve-portal$", rf"\1={user}", text, flags=re.MULTILINE)
        (tmp_path / unit.name).write_text(text)
    # systemd-analyze verifies an instance of a template unit, not the template.
    shutil.copy(tmp_path / "exolve-portal-worker@.service", tmp_path / "exolve-portal-worker@1.service")
    return tmp_path


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize(
    "unit", ["exolve-portal-web.service", "exolve-portal-worker@1.service", "exolve-portal-webhooks.service"]
)
def test_systemd_unit_is_valid_and_its_command_exists(tmp_path, unit):
    folder = _units_for_this_checkout(tmp_path)

    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(folder / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "not executable" not in result.stderr, result.stderr


def test_worker_units_run_every_queue_each_with_a_unique_worker_id():
    # The senders' queue and the webhooks' queue have their own workers (settings.TASKS).
    commands = {}
    for name in ("exolve-portal-worker@.service", "exolve-portal-webhooks.service"):
        unit = (DEPLOY_DIR / name).read_text()
        commands[name] = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE).group(1)
        assert "manage.py db_worker" in commands[name]

    assert "--queue-name default" in commands["exolve-portal-worker@.service"]
    assert "--worker-id %H-%i" in commands["exolve-portal-worker@.service"]
    assert "--queue-name webhooks" in commands["exolve-portal-webhooks.service"]
    assert "--worker-id %H-webhooks" in commands["exolve-portal-webhooks.service"]
    assert set(settings.TASKS["default"]["QUEUES"]) == {"default", "webhooks"}


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_snippet_is_accepted_by_nginx(tmp_path):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HOST}",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = (DEPLOY_DIR / "nginx-exolve-portal.conf").read_text()
    site = site.replace(f"/etc/letsencrypt/live/{HOST}/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace(f"/etc/letsencrypt/live/{HOST}/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )

    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr


# --- PostgreSQL, gunicorn, workers, backups ------------------------------------------


def _admin_connection():
    return psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True, connect_timeout=3)


def _postgres_or_skip():
    try:
        _admin_connection().close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL does not answer at {SERVER_URL}: CI must run the deploy tests ({exc})")
        pytest.skip(f"PostgreSQL does not answer at {SERVER_URL} (CI fails instead)")


def _drop(connection):
    for name in (DATABASE, RESTORED):
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.execute(f'DROP ROLE IF EXISTS "{DATABASE}"')


def _wait_for_listening(log: Path, process: subprocess.Popen, timeout: float = 30) -> str:
    """The URL gunicorn listens on (it was told port 0), once it answers /healthz."""
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited: {log.read_text()}"
        if url is None:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())
            url = found.group(1) if found else None
        if url:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not come up: {log.read_text()}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """The guide's steps 2-5 on this machine, gunicorn running; torn down afterwards."""
    _postgres_or_skip()
    folder = tmp_path_factory.mktemp("deploy")
    with _admin_connection() as connection:
        _drop(connection)
        # Step 2: createuser --pwprompt exolve_portal; createdb --owner exolve_portal exolve_portal
        connection.execute(f"CREATE ROLE \"{DATABASE}\" LOGIN PASSWORD 'deploy-test-password'")
        connection.execute(f'CREATE DATABASE "{DATABASE}" OWNER "{DATABASE}"')
    env = documented_production_env(
        DATABASE_URL=f"postgres://{DATABASE}:deploy-test-password@127.0.0.1:5432/{DATABASE}",
        STATIC_ROOT=str(folder / "staticfiles"),
        EXOLVE_SANDBOX_STATE=str(folder / "sandbox.sqlite3"),
        GUNICORN_BIND="127.0.0.1:0",
        GUNICORN_WORKERS="2",
        LANGUAGE_CODE="en",  # the assertions read the commands' English output
    )
    # Step 4, in the guide's order.
    steps = {}
    for command in (["migrate"], ["setup_roles"], ["collectstatic", "--no-input"], ["ensure_admin"]):
        result = manage(*command, env=env, timeout=300)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        steps[command[0]] = result
    # Step 5: what the web unit runs.
    log = folder / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BASE_DIR / ".venv" / "bin" / "gunicorn")],
            cwd=BASE_DIR,
            env=clean_env(env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = _wait_for_listening(log, process)
        yield {"url": url, "env": env, "steps": steps, "log": log, "folder": folder}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with _admin_connection() as connection:
            _drop(connection)


@pytest.mark.slow
def test_setup_commands_create_roles_and_print_the_first_admin_password_once(deployment):
    steps = deployment["steps"]

    assert "Operators" in steps["setup_roles"].stdout
    assert "Managers" in steps["setup_roles"].stdout
    assert "password:" in steps["ensure_admin"].stdout
    again = manage("ensure_admin", env=deployment["env"])
    assert again.returncode == 0
    assert "password:" not in again.stdout


@pytest.mark.slow
def test_gunicorn_serves_the_login_page_behind_the_https_proxy(deployment):
    response = requests.get(f"{deployment['url']}/admin/login/", headers=VIA_PROXY, allow_redirects=False, timeout=10)

    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.text
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.slow
def test_gunicorn_serves_admin_css_through_whitenoise_with_hashed_names(deployment):
    page = requests.get(f"{deployment['url']}/admin/login/", headers=VIA_PROXY, timeout=10).text
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the login page should link the hashed admin stylesheet"

    response = requests.get(f"{deployment['url']}{stylesheet.group(1)}", headers=VIA_PROXY, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.slow
def test_healthz_reports_the_database_over_plain_http_on_the_server(deployment):
    response = requests.get(f"{deployment['url']}/healthz", allow_redirects=False, timeout=10)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.slow
def test_plain_http_pages_are_redirected_to_https(deployment):
    response = requests.get(
        f"{deployment['url']}/admin/login/", headers={"Host": HOST}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/admin/login/"


@pytest.mark.slow
def test_anonymous_visitors_are_sent_to_the_login_page(deployment):
    response = requests.get(f"{deployment['url']}/admin/", headers=VIA_PROXY, allow_redirects=False, timeout=10)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login/")


@pytest.mark.slow
def test_gunicorn_logs_are_json_lines_without_the_api_key(deployment):
    requests.get(f"{deployment['url']}/no-such-page", headers=VIA_PROXY, timeout=10)
    time.sleep(0.5)  # let the access line reach the file
    text = deployment["log"].read_text()

    lines = [line for line in text.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert any(entry["logger"] == "gunicorn.access" for entry in entries)
    assert TEST_API_KEY not in text
    assert deployment["env"]["SECRET_KEY"] not in text


@pytest.mark.slow
def test_a_worker_runs_against_the_same_database(deployment):
    result = manage(
        "db_worker", "--queue-name", "*", "--no-reload", "--batch", "--no-startup-delay", "--worker-id", "test-1",
        env=deployment["env"],
    )  # fmt: skip

    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_against_postgresql(deployment):
    result = manage("check", "--deploy", "--fail-level", "WARNING", "--database", "default", env=deployment["env"])

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_sync_voicemessages_dry_run_on_the_sandbox(deployment):
    if "sync_voicemessages" not in get_commands():
        pytest.skip("sync_voicemessages is not built yet")
    env = dict(deployment["env"], EXOLVE_SANDBOX="on")

    result = manage("sync_voicemessages", "--dry-run", env=env)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_backup_restores_into_an_empty_database_that_needs_no_migration(deployment):
    dump = deployment["folder"] / "exolve_portal.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "-h", "127.0.0.1", "-U", "postgres", "-f", str(dump), DATABASE],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with _admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{RESTORED}" OWNER "{DATABASE}"')
    subprocess.run(
        ["pg_restore", "--no-owner", "--role", DATABASE, "-h", "127.0.0.1", "-U", "postgres", "-d", RESTORED,
         str(dump)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    env = dict(deployment["env"], DATABASE_URL=f"postgres://{DATABASE}:deploy-test-password@127.0.0.1:5432/{RESTORED}")

    check = manage("migrate", "--check", env=env)
    admin = manage("ensure_admin", env=env)

    assert check.returncode == 0, check.stdout + check.stderr
    assert "already exists" in admin.stdout
