"""Security: who may open what, login throttling, the API key never shown, the audit trail.

The access tests walk the whole URL resolver, so a page added later is checked without
anyone adding it here: it must refuse anonymous visitors and non-staff users, and a
staff member without permissions must not get its content (nor a server error).
"""

import io
import json
import logging
import re
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls import path as url_path
from django.urls.exceptions import Resolver404
from django.views.debug import SafeExceptionReporterFilter

from exolve_portal.exolve.errors import AuthenticationError, ExolveError
from exolve_portal.exolve_connection import get_client
from exolve_portal.logs import JSONFormatter, RedactSecretsFilter

User = get_user_model()

# Open to anyone: URL name -> what an anonymous visitor gets.
PUBLIC = {
    "healthz": "load balancers and monitoring",
    "set_language": "the language switch on the login page",
    "admin:login": "the login page",
    "favicon": "the icon browsers ask for on their own",
    "admin_password_reset": "a forgotten password: the form asking for the e-mail address",
    "password_reset_done": "a forgotten password: the mail is on its way",
    "password_reset_confirm": "the link in the e-mail (an invitation or a reset): setting a password",
    "password_reset_complete": "the password is set: log in",
    "api:openapi-json": "the HTTP API's schema (no data; every other /api/ path needs a token)",
    "api:openapi-view": "the HTTP API's documentation page",
}
# Redirects an anonymous visitor somewhere other than the login page, harmlessly.
HARMLESS_REDIRECTS = {
    "": "the site root points to the admin index, which asks for the login",
}
DISTINCTIVE_KEY = "distinctive-exolve-key-Qx7Zp4Wm9Lk2"


# --- Walking the URL resolver --------------------------------------------------------


def _sample(regex: str) -> str:
    """The shortest string matching ``regex``, preferring digits (so ids look like ids)."""
    import re._constants as c  # the regex parser Django's own converters compile to
    import re._parser as parser

    def from_class(items):
        negated = any(op is c.NEGATE for op, _ in items)
        allowed = []
        for op, value in items:
            if op is c.LITERAL:
                allowed.append(chr(value))
            elif op is c.RANGE:
                allowed += [chr(value[0]), *(["1"] if value[0] <= ord("1") <= value[1] else [])]
            elif op is c.CATEGORY:
                allowed.append("1" if value in (c.CATEGORY_DIGIT, c.CATEGORY_WORD) else "x")
        if negated:
            return next(ch for ch in "1xa" if ch not in allowed)
        return "1" if "1" in allowed else allowed[0]

    def emit(parsed):
        out = []
        for op, value in parsed:
            if op is c.LITERAL:
                out.append(chr(value))
            elif op is c.NOT_LITERAL:
                out.append("1" if chr(value) != "1" else "x")
            elif op is c.ANY:
                out.append("1")
            elif op is c.IN:
                out.append(from_class(value))
            elif op is c.BRANCH:
                out.append(emit(value[1][0]))
            elif op is c.SUBPATTERN:
                out.append(emit(value[-1]))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                low, high, sub = value
                out.append(emit(sub) * (max(low, 1) if high else 0))
        return "".join(out)

    return emit(parser.parse(regex))


def _patterns(resolver=None, prefix="", namespace=""):
    """Every endpoint as (path, URL name, callback), with sample values in its arguments."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        piece = _sample(entry.pattern.regex.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, prefix + piece, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {prefix + piece}>"
            yield "/" + prefix + piece, name, entry.callback


ENDPOINTS = sorted(set(_patterns()), key=lambda item: item[0])
# The resolver's root pattern has the empty name "" in our table above.
ROOT = {path for path, name, _ in ENDPOINTS if path == "/"}


def _name(path, name):
    return "" if path == "/" else name


def test_the_walk_reaches_every_pattern_of_the_project():
    unreachable = []
    for path, name, callback in ENDPOINTS:
        try:
            match = resolve(path)
        except Resolver404:
            unreachable.append((path, name))
            continue
        if match.func is not callback and name != "admin:<unnamed admin/1>":
            unreachable.append((path, name))

    # Only the admin's catch-all ("admin/<anything>") is shadowed, by design.
    assert len(ENDPOINTS) > 40
    assert not unreachable, unreachable


def _is_login_redirect(response):
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def _refused(response) -> bool:
    return _is_login_redirect(response) or response.status_code in (403, 405) or _api_refusal(response)


def _api_refusal(response) -> bool:
    """The HTTP API (api/) refuses by its token, not the login: 401, or 404 for what does not exist."""
    return response.status_code in (401, 404) and response.get("Content-Type") == "application/problem+json"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_page_refuses_anonymous_visitors(client, sandbox, method):
    failures = []
    for path, name, _ in ENDPOINTS:
        response = getattr(client, method)(path)
        key = _name(path, name)
        if key in PUBLIC:
            ok = response.status_code < 500
        elif key in HARMLESS_REDIRECTS:
            ok = response.status_code == 302 and response["Location"] == reverse("admin:index")
        else:
            ok = _refused(response)
        if not ok:
            failures.append((method.upper(), path, name, response.status_code))

    assert not failures, f"open to anonymous visitors: {failures}"


@pytest.mark.django_db
def test_public_pages_are_exactly_the_allowed_ones(client):
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("admin:login")).status_code == 200
    response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/"


def _protected_responses(client, method):
    """(path, name, response) for every URL pattern that must not be public."""
    for path, name, _ in ENDPOINTS:
        key = _name(path, name)
        if key not in PUBLIC and key not in HARMLESS_REDIRECTS:
            yield path, name, getattr(client, method)(path)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_page_refuses_logged_in_users_who_are_not_staff(client, sandbox, method):
    client.force_login(User.objects.create_user("customer", password="x", is_staff=False))
    failures = [
        (method.upper(), path, name, response.status_code)
        for path, name, response in _protected_responses(client, method)
        if not _refused(response)
    ]

    assert not failures, f"open to non-staff users: {failures}"


def _undecorated_page(request):
    return HttpResponse("secret numbers")


# A URLconf with one page added the careless way: no decorator, no mixin.
urlpatterns = [*get_resolver().url_patterns, url_path("careless/", _undecorated_page)]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_page_added_without_any_decorator_is_still_staff_only(client):
    anonymous = client.get("/careless/")
    client.force_login(User.objects.create_user("customer", password="x", is_staff=False))
    non_staff = client.get("/careless/")
    client.force_login(User.objects.create_user("newcomer", password="x", is_staff=True))
    staff = client.get("/careless/")

    assert _is_login_redirect(anonymous)
    assert _is_login_redirect(non_staff)
    assert staff.status_code == 200


def _is_model_admin_view(name: str) -> bool:
    # ModelAdmin URL names are app_model_action; the site's own are not.
    return bool(re.match(r"admin:\w+_\w+_(changelist|add|change|delete|history)$", name)) or "<unnamed" in name


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_permissions_gets_no_content_and_no_server_error(client, sandbox, method):
    client.force_login(User.objects.create_user("newcomer", password="x", is_staff=True))
    failures = []
    for path, name, response in _protected_responses(client, method):
        status = response.status_code
        if status >= 500:
            failures.append((method.upper(), path, name, status))
        elif not name.startswith("admin:") and not (
            _is_login_redirect(response) or status in (302, 403, 404, 405) or _api_refusal(response)
        ):
            # The portal's own pages: a permission is needed for every one of them.
            failures.append((method.upper(), path, name, status))
        elif name.startswith("admin:") and _is_model_admin_view(name) and 200 <= status < 300:
            # The admin's own index, password change and i18n may answer; model pages may not.
            failures.append((method.upper(), path, name, status))

    assert not failures, f"answered a staff member without permissions: {failures}"


@pytest.mark.django_db
def test_a_superuser_can_open_every_page_without_a_server_error(admin_client, sandbox):
    errors = [
        (path, name, response.status_code)
        for path, name, _ in ENDPOINTS
        if (response := admin_client.get(path)).status_code >= 500
    ]

    assert not errors


# --- CSRF and request size -----------------------------------------------------------


@pytest.mark.django_db
def test_every_post_form_the_portal_renders_carries_a_csrf_token(admin_client, sandbox):
    missing = []
    for path, name, _ in ENDPOINTS:
        response = admin_client.get(path)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in re.findall(r"<form\b[^>]*>.*?</form>", response.content.decode(), re.DOTALL | re.IGNORECASE):
            if re.search(r'method="?post', form, re.IGNORECASE) and "csrfmiddlewaretoken" not in form:
                missing.append((path, name))

    assert not missing


@pytest.mark.django_db
def test_a_post_without_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("admin:login"), {"username": "a", "password": "b"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_too_large_form_data_gets_a_plain_message_not_a_server_error(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = admin_client.post(reverse("admin:auth_group_add"), {"name": "x" * 5000})

    assert response.status_code == 400
    assert b"too large" in response.content


def test_upload_limits_are_set():
    assert django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    assert django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    assert django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS <= 10_000


# --- Login throttling ----------------------------------------------------------------


def _try_login(client, username, password, address="198.51.100.10"):
    return client.post(reverse("admin:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def staff_user(db):
    return User.objects.create_user("operator", password="correct-horse-battery", is_staff=True)


@pytest.mark.django_db
def test_too_many_failed_logins_lock_out_that_user_from_that_address(client, settings, staff_user):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        _try_login(client, "operator", "wrong")

    response = _try_login(client, "operator", "correct-horse-battery")

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text
    assert "15 minutes" in text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_lockout_does_not_block_other_users_or_other_addresses(client, settings, staff_user):
    settings.AXES_FAILURE_LIMIT = 2
    User.objects.create_user("colleague", password="another-good-password", is_staff=True)
    for _ in range(2):
        _try_login(client, "operator", "wrong")

    colleague = _try_login(Client(), "colleague", "another-good-password")
    elsewhere = _try_login(Client(), "operator", "correct-horse-battery", address="198.51.100.99")

    assert colleague.status_code == 302
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_a_lockout_ends_after_the_cool_off(client, settings, staff_user):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        _try_login(client, "operator", "wrong")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))

    response = _try_login(client, "operator", "correct-horse-battery")

    assert response.status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_failures_count_against_the_forwarded_address(client, settings, staff_user):
    settings.TRUST_PROXY_HEADERS = True
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(
            reverse("admin:login"),
            {"username": "operator", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )

    other_client = Client().post(
        reverse("admin:login"),
        {"username": "operator", "password": "correct-horse-battery"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )

    assert other_client.status_code == 302


@pytest.mark.django_db
def test_the_test_clients_login_and_force_login_still_work(client, staff_user):
    assert client.login(username="operator", password="correct-horse-battery")
    assert client.get(reverse("admin:index")).status_code == 200
    client.logout()
    client.force_login(staff_user)
    assert client.get(reverse("admin:index")).status_code == 200


# --- The API key is never shown ------------------------------------------------------


def _body(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):  # XLSX exports are zip files: look inside
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"".join(archive.read(member) for member in archive.namelist())
    return content


@pytest.fixture
def wrong_key_server(sandbox_http, settings):
    """The portal configured for a real Exolve (the sandbox over HTTP) with a key it refuses."""
    settings.EXOLVE_API_KEY = DISTINCTIVE_KEY
    return sandbox_http


@pytest.mark.django_db
def test_the_api_key_is_in_no_page_admin_view_or_export(admin_client, wrong_key_server, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    for path, name, _ in ENDPOINTS:
        for query in ("", "?_export=csv", "?_export=xlsx"):
            if query and name.startswith("admin:"):
                continue
            response = admin_client.get(path + query)
            seen.append(path + query)
            assert DISTINCTIVE_KEY.encode() not in _body(response), f"the API key is shown on {path}{query}"

    assert len(seen) > 40
    assert DISTINCTIVE_KEY not in caplog.text


@pytest.mark.django_db
def test_an_exolve_error_names_neither_the_key_nor_logs_it(wrong_key_server, caplog):
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ExolveError) as raised:
        get_client().list_voice_messages()

    error = raised.value
    assert isinstance(error, AuthenticationError)
    for text in (str(error), repr(error), error.body, error.message, str(error.explanation), repr(get_client())):
        assert DISTINCTIVE_KEY not in text
    assert DISTINCTIVE_KEY not in caplog.text
    for record in caplog.records:
        assert DISTINCTIVE_KEY not in record.getMessage()


def test_error_reports_hide_the_api_key(settings):
    settings.EXOLVE_API_KEY = DISTINCTIVE_KEY

    shown = SafeExceptionReporterFilter().get_safe_settings()

    assert DISTINCTIVE_KEY not in json.dumps(shown, default=str)


def test_a_log_line_that_would_contain_the_key_is_redacted(settings):
    settings.EXOLVE_API_KEY = DISTINCTIVE_KEY
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key=%s", (DISTINCTIVE_KEY,), None)

    RedactSecretsFilter().filter(record)

    assert DISTINCTIVE_KEY not in JSONFormatter().format(record)


# --- The audit trail -----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_changes_are_listed_in_the_audit_trail_with_who_did_them(admin_client, admin_user):
    admin_client.post(reverse("admin:auth_group_add"), {"name": "Night shift"})

    entry = LogEntry.objects.get(object_repr="Night shift")
    assert entry.user == admin_user
    assert entry.action_flag == ADDITION
    response = admin_client.get(reverse("admin:admin_logentry_changelist"), {"action_flag__exact": ADDITION})
    assert response.status_code == 200
    assert "Night shift" in response.content.decode()


@pytest.mark.django_db
def test_nobody_can_add_change_or_delete_audit_entries(admin_client, admin_user):
    group_type = apps.get_model("contenttypes", "ContentType").objects.get_for_model(apps.get_model("auth", "Group"))
    entry = LogEntry.objects.create(
        user=admin_user, content_type=group_type, object_id="1", object_repr="x", action_flag=CHANGE
    )

    assert admin_client.get(reverse("admin:admin_logentry_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:admin_logentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    admin_client.post(reverse("admin:admin_logentry_change", args=[entry.pk]), {"object_repr": "changed"})
    entry.refresh_from_db()
    assert entry.object_repr == "x"
    # Viewing one entry works (read-only).
    assert admin_client.get(reverse("admin:admin_logentry_change", args=[entry.pk])).status_code == 200


@pytest.mark.django_db
def test_staff_without_the_view_permission_cannot_see_the_audit_trail(client):
    client.force_login(User.objects.create_user("newcomer", password="x", is_staff=True))

    assert client.get(reverse("admin:admin_logentry_changelist")).status_code == 403


@pytest.mark.parametrize("model", ["voicemessages.VoiceMessage", "calls.Broadcast"])
def test_voice_messages_and_broadcasts_record_who_made_them(model):
    try:
        model_class = apps.get_model(model)
    except LookupError:
        pytest.skip(f"{model} is not built yet")
    user_fields = [
        field
        for field in model_class._meta.get_fields()
        if isinstance(field, models.ForeignKey) and field.related_model is User
    ]

    assert user_fields, f"{model} has no field saying which staff member made it"
    with pytest.raises(FieldDoesNotExist):
        model_class._meta.get_field("api_key")
