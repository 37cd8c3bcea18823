"""Russian and English: a complete Russian catalogue, compiled .mo in step with the .po,
every string in the code in the catalogue, pages that speak Russian with no English
left over, the language switch, and commands that speak LANGUAGE_CODE.
"""

import ast
import gettext
import html
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone as django_timezone

from calls.models import CallState
from exolve_portal.roles import MANAGERS, OPERATORS
from tests.factories import make_staff
from tests.factories_calls import SOURCE
from tests.pages_helpers import bulk_calls, make_broadcast

REPO = Path(__file__).resolve().parents[2]
LOCALE = REPO / "locale"
RU_PO = LOCALE / "ru" / "LC_MESSAGES" / "django.po"
RU_MO = LOCALE / "ru" / "LC_MESSAGES" / "django.mo"
# What `make messages` reads: the project's own code (and nothing under tests/ or bench/).
SOURCE_TREES = [
    "manage.py",
    "exolve_portal",
    "jobs",
    "audiences",
    "calls",
    "schedules",
    "pages",
    "voicemessages",
    "caller_numbers",
    "api",
    "integrations",
    "templates",
]
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdif%r]")


# --- Reading .po files (the stdlib has no parser, and no dependency is worth it) ------------


def parse_po(text: str) -> list[dict]:
    """The entries of a .po file (obsolete ones left out): msgctxt, msgid, msgid_plural, msgstr, flags."""
    entries, current, key = [], None, None
    for raw in text.splitlines() + [""]:
        line = raw.strip()
        if not line:
            if current is not None and "msgid" in current and not current["obsolete"]:
                entries.append(current)
            current, key = None, None
            continue
        if current is None:
            current = {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            current["obsolete"] = True
        elif line.startswith("#,"):
            current["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            pass
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(key, int):
                current["msgstr"][key] += value
            else:
                current[key] += value
        else:
            keyword, _space, value = line.partition(" ")
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match or keyword == "msgstr":
                key = int(match.group(1)) if match else 0
                current["msgstr"][key] = ast.literal_eval(value)
            else:
                key = keyword
                current[key] = ast.literal_eval(value)
    return entries


def catalogue_entries(path=RU_PO) -> list[dict]:
    return [entry for entry in parse_po(path.read_text(encoding="utf-8")) if entry["msgid"]]


def entry_key(entry) -> tuple:
    return entry.get("msgctxt"), entry["msgid"]


def describe(entry) -> str:
    context = f"[{entry['msgctxt']}] " if entry.get("msgctxt") else ""
    return context + repr(entry["msgid"])


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


# --- The catalogue itself ---------------------------------------------------------------------


def test_russian_catalogue_has_no_untranslated_or_fuzzy_entries():
    entries = catalogue_entries()
    assert len(entries) > 300
    untranslated = [describe(e) for e in entries if not all(v.strip() for v in e["msgstr"].values())]
    fuzzy = [describe(e) for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, "untranslated entries in locale/ru django.po:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy entries in locale/ru django.po (check and remove the flag):\n" + "\n".join(fuzzy)


def test_russian_catalogue_uses_the_three_russian_plural_forms():
    header = next(e for e in parse_po(RU_PO.read_text(encoding="utf-8")) if e["msgid"] == "")
    assert "fuzzy" not in header["flags"]
    assert "Language: ru\n" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=3;" in header["msgstr"][0]
    plural = [e for e in catalogue_entries() if "msgid_plural" in e]
    assert plural
    wrong = [describe(e) for e in plural if sorted(e["msgstr"]) != [0, 1, 2]]
    assert not wrong, "plural entries without exactly 3 Russian forms:\n" + "\n".join(wrong)


def test_translations_keep_every_placeholder():
    wrong = []
    for entry in catalogue_entries():
        if "msgid_plural" in entry:
            # Every form keeps the placeholders (form 0 also serves 21, 31, ...).
            wanted = placeholders(entry["msgid_plural"])
        else:
            wanted = placeholders(entry["msgid"])
        for form, text in entry["msgstr"].items():
            if placeholders(text) != wanted:
                wrong.append(f"{describe(entry)} form {form}: {placeholders(text)} != {wanted}")
    assert not wrong, "\n".join(wrong)


def test_translations_keep_the_html_tags_of_their_message():
    tags = re.compile(r"</?\w+")
    wrong = [
        describe(e)
        for e in catalogue_entries()
        if any(sorted(tags.findall(text)) != sorted(tags.findall(e["msgid"])) for text in e["msgstr"].values())
    ]
    assert not wrong, "\n".join(wrong)


def test_msgids_hold_real_characters_not_escapes():
    # xgettext copies "\u201c" in Python source literally, so gettext would never find the string.
    escaped = [describe(e) for e in catalogue_entries() if re.search(r"\\[uUN]", e["msgid"])]
    assert not escaped, "write these characters themselves in the code, not as \\u escapes:\n" + "\n".join(escaped)


def test_compiled_catalogue_is_up_to_date_with_the_po():
    """The shipped .mo holds exactly the .po's translations (`make messages` compiles it)."""
    with RU_MO.open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)._catalog
    expected = {}
    for entry in catalogue_entries():
        msgid = entry["msgid"] if entry.get("msgctxt") is None else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            for form, text in entry["msgstr"].items():
                expected[(msgid, form)] = text
        else:
            expected[msgid] = entry["msgstr"][0]
    compiled = {key: value for key, value in compiled.items() if key != ""}  # "" is the header
    stale = sorted(str(key) for key in expected.keys() - compiled.keys())
    extra = sorted(str(key) for key in compiled.keys() - expected.keys())
    changed = sorted(str(key) for key in expected.keys() & compiled.keys() if expected[key] != compiled[key])
    assert not (stale or extra or changed), (
        "locale/ru/LC_MESSAGES/django.mo is out of date: run `make messages`.\n"
        f"missing from .mo: {stale[:10]}\nonly in .mo: {extra[:10]}\ndifferent: {changed[:10]}"
    )


def test_compiled_catalogues_are_not_ignored_by_git():
    if not shutil.which("git") or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = [str(RU_MO.relative_to(REPO)), str(RU_PO.relative_to(REPO))]
    result = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1, f"locale/ must ship in the repository; .gitignore excludes: {result.stdout}"


@pytest.mark.slow
def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    """`makemessages` over a copy of the code finds nothing new: every string is translated.

    Needs GNU gettext (xgettext, msgmerge). CI installs it (.ci/run) and fails without
    it; elsewhere the test is skipped with the reason.
    """
    missing = [tool for tool in ("xgettext", "msgmerge", "msguniq") if not shutil.which(tool)]
    if missing:
        message = f"GNU gettext is not installed ({', '.join(missing)} missing): apt-get install gettext"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    copy = tmp_path / "portal"
    copy.mkdir()
    for name in SOURCE_TREES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, copy / name)
    shutil.copytree(LOCALE, copy / "locale")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "exolve_portal.settings", "PYTHONPATH": str(copy)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale=ru", "--no-obsolete", "--add-location=file"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    fresh = catalogue_entries(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po")
    shipped = {entry_key(e): e for e in catalogue_entries()}
    new = [describe(e) for e in fresh if entry_key(e) not in shipped]
    untranslated = [
        describe(e) for e in fresh if "fuzzy" in e["flags"] or not all(v.strip() for v in e["msgstr"].values())
    ]
    assert not (new or untranslated), (
        "strings in the code that the Russian catalogue lacks: run `make messages`, translate them in "
        "locale/ru/LC_MESSAGES/django.po, and run `make messages` again.\n" + "\n".join(sorted(set(new + untranslated)))
    )


# --- Pages in Russian ---------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes plus labels held in attributes."""

    ATTRIBUTES = {"value", "title", "aria-label", "placeholder", "alt"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            hidden = tag == "input" and ("type", "hidden") in attrs
            if name in self.ATTRIBUTES and value and not hidden:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def english_phrases() -> list[str]:
    """Phrases of the English UI that must not appear on a Russian page.

    Every catalogue message of two or more words whose translation differs, cut at its
    placeholders and tags; plus the admin's own words (Django ships their Russian).
    """
    phrases = {"Log out", "Change password", "Welcome,", "Home", "Recent actions", "Save and add another"}
    for entry in catalogue_entries():
        for source in (entry["msgid"], entry.get("msgid_plural", "")):
            for piece in re.split(r"%\([^)]+\)\w|<[^>]+>|\{[^}]*\}", html.unescape(source)):
                piece = " ".join(piece.split()).strip(" .,;:()")
                if len(piece.split()) >= 2 and piece not in entry["msgstr"].get(0, ""):
                    phrases.add(piece)
    return sorted(phrases)


def assert_speaks_russian(response):
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert '<html lang="ru"' in page
    text = visible_text(page)
    leaks = [phrase for phrase in english_phrases() if phrase in text]
    assert not leaks, f"English on a Russian page {response.wsgi_request.path}: {leaks}"
    assert re.search("[а-яА-ЯёЁ]{4,}", text)
    return text


@pytest.fixture
def russian_browser(settings):
    """The portal's default is English here, the browser asks for Russian: the browser wins."""
    settings.LANGUAGE_CODE = "en"
    return {"HTTP_ACCEPT_LANGUAGE": "ru-RU,ru;q=0.9,en;q=0.5"}


@pytest.fixture
def seeded(db, voice_message, settings):
    """A manager, a broadcast with calls in every outcome, one number skipped as invalid."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    manager = make_staff("manager-ru", MANAGERS)
    broadcast = make_broadcast(voice_message, user=manager)
    broadcast.invalid_numbers = [["12345", "Слишком мало цифр для телефонного номера."]]
    broadcast.save()
    bulk_calls(13, voice_message=voice_message, broadcast=broadcast, user=manager, spread_days=3)
    return {"manager": manager, "broadcast": broadcast, "voice_message": voice_message}


def test_login_page_speaks_the_browsers_language(client, db, russian_browser):
    text = assert_speaks_russian(client.get(reverse("admin:login"), **russian_browser))
    assert "Голосовой портал Exolve" in text and "Войти" in text


def test_default_language_comes_from_language_code(client, db, settings):
    settings.LANGUAGE_CODE = "ru"
    assert_speaks_russian(client.get(reverse("admin:login")))  # no Accept-Language
    settings.LANGUAGE_CODE = "en"
    page = client.get(reverse("admin:login")).content.decode()
    assert '<html lang="en"' in page and "Exolve Voice Portal" in page


@pytest.mark.parametrize(
    "page",
    [
        "admin:index",
        "portal:dashboard",
        "portal:send",
        "portal:calls",
        "broadcast",
        "admin:voicemessages_voicemessage_changelist",
        "admin:voicemessages_voicemessage_add",
        "admin:calls_call_changelist",
        "admin:calls_broadcast_changelist",
        "job",
    ],
)
def test_staff_pages_speak_russian(client, seeded, russian_browser, page):
    client.force_login(seeded["manager"])
    if page == "job":
        url = reverse("jobs:job", args=[finished_sync_job(seeded["manager"]).pk])
    elif page == "broadcast":
        url = reverse("portal:broadcast", args=[seeded["broadcast"].pk])
    else:
        url = reverse(page)
    text = assert_speaks_russian(client.get(url, **russian_browser))
    assert "Тестовый режим" in text  # the sandbox banner


def finished_sync_job(user):
    """A sync job that ran (through the real task) and found one message missing and one unreadable."""
    from jobs.models import Job, JobState

    return Job.objects.create(
        kind="voicemessages.sync",
        started_by=user,
        state=JobState.DONE,
        done=3,
        total=3,
        finished_at=django_timezone.now(),
        return_url=reverse("admin:voicemessages_voicemessage_changelist"),
        result={
            "counts": {"created": 1, "updated": 0, "unchanged": 1, "missing": 1, "failed": 1},
            "newly_missing": 1,
            "failed": [["vm-1", "Exolve had a problem on its side. Try again in a few minutes."]],
        },
    )


def test_send_preview_speaks_russian_with_reasons(client, seeded, russian_browser):
    client.force_login(seeded["manager"])
    response = client.post(
        reverse("portal:send"),
        {
            "voice_message": seeded["voice_message"].pk,
            "source": SOURCE,
            "numbers": "79991234561\n+7 999 123-45-67\n12345\n79991234561",
            "token": "i18n-token",
            "basis": "contract",
            "_preview": "1",
        },
        **russian_browser,
    )
    text = assert_speaks_russian(response)
    assert "Проверьте перед отправкой" in text
    assert "Слишком мало цифр для телефонного номера." in text


def test_not_allowed_page_speaks_russian(client, db, russian_browser):
    client.force_login(make_staff("nobody-ru"))
    response = client.get(reverse("portal:send"), **russian_browser)
    assert response.status_code == 403
    assert "Нет доступа" in visible_text(response.content.decode())


def test_exolve_error_explanations_are_translated(settings):
    from django.utils import translation

    from exolve_portal.exolve import errors

    classes = [errors.ExolveError, *_subclasses(errors.ExolveError)]
    with translation.override("ru"):
        untranslated = [c.__name__ for c in classes if translation.gettext(c.explanation) == c.explanation]
    assert not untranslated


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# --- The language switch -------------------------------------------------------------------------


def switcher(page: str) -> str:
    match = re.search(r'<form class="language-switcher".*?</form>', page, re.S)
    assert match, "no language switch on the page"
    return match.group(0)


def test_language_switch_is_on_the_login_page_and_on_staff_pages(client, seeded, settings):
    settings.LANGUAGE_CODE = "ru"
    form = switcher(client.get(reverse("admin:login") + "?next=/admin/").content.decode())
    assert f'action="{reverse("set_language")}"' in form and 'method="post"' in form
    assert "csrfmiddlewaretoken" in form
    assert 'name="next" value="/admin/login/?next=/admin/"' in form
    assert 'value="ru"' in form and 'value="en"' in form and "Русский" in form and "English" in form
    current = re.search(r'<button[^>]*class="current"[^>]*>', form)
    assert current and 'value="ru"' in current.group(0)  # the language in use is marked
    client.force_login(seeded["manager"])
    for url in (reverse("admin:index"), reverse("portal:dashboard"), reverse("portal:calls") + "?outcome=busy"):
        assert f'name="next" value="{url}"' in switcher(client.get(url).content.decode())


def test_language_switch_sets_the_language_and_returns_to_the_page(client, db, settings):
    settings.LANGUAGE_CODE = "ru"
    client.get(reverse("admin:login"))  # the CSRF cookie, as a browser would have it
    response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/login/?next=/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    # The choice wins over the browser's Accept-Language.
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert '<html lang="en"' in page
    client.post(reverse("set_language"), {"language": "ru", "next": "/admin/login/"})
    assert '<html lang="ru"' in client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_language_switch_refuses_to_redirect_elsewhere(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": "https://evil.example/"})
    assert response.status_code in (204, 302)
    assert "evil.example" not in response.get("Location", "")


# --- Commands speak LANGUAGE_CODE ----------------------------------------------------------------


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_commands_speak_language_code(db, settings):
    settings.LANGUAGE_CODE = "ru"
    assert run("refresh_calls")[0].strip() == "Обновлять нечего."
    out, _err = run("setup_roles")
    assert f"{OPERATORS}: разрешений" in out
    settings.LANGUAGE_CODE = "en"
    assert run("refresh_calls")[0].strip() == "Nothing to refresh."


def test_send_command_reports_in_russian(voice_message, settings):
    settings.LANGUAGE_CODE = "ru"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    out, err = run(
        "send_voicemessage", "--basis", "contract", "--message", str(voice_message.pk), "--source", SOURCE,
        "--to", "79991234561", "--to", "79991234562", "--to", "79991234561",
    )  # fmt: skip
    assert "в очереди 2 звонка" in out and "повторов: 1" in out
    assert "повтор, звонок один раз: 79991234561" in err
    assert voice_message.calls.filter(state=CallState.QUEUED).count() == 2


# --- Counts in Russian take the form their number needs ------------------------------------------


@pytest.mark.parametrize(
    ("count", "line"),
    [(1, "1 звонок подходит под фильтры"), (2, "2 звонка подходят под фильтры"), (5, "5 звонков подходят под фильтры")],
)
def test_count_lines_take_the_russian_plural_form_of_their_number(client, db, russian_browser, count, line):
    manager = make_staff("manager-plural", MANAGERS)
    broadcast = make_broadcast(user=manager)
    bulk_calls(count, broadcast=broadcast, user=manager)
    client.force_login(manager)
    response = client.get(reverse("portal:calls"), {"broadcast": broadcast.pk}, **russian_browser)
    assert line in visible_text(response.content.decode())


# --- Every staff page and admin page in Russian, with data in it: no English word left ------------

# True proper names and codes staff read as they are; any other Latin word is English left over.
# ("English" is the language switch naming that language in itself.)
PROPER_NAMES = {"Exolve", "CSV", "XLSX", "Excel", "IANA", "UTC", "MSK", "ID", "API", "JSON", "English"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
# Codes, not English: time-zone names (Europe/Moscow), addresses, ids, and the technical detail
# an Exolve error keeps for engineers after its explanation ("Exolve API response 404 (...) for ...").
CODES = re.compile(
    r"\b[A-Z][a-z]+(?:/[A-Za-z_+-]+)+|\bhttps?://\S+|\S+@\S+|\b[a-f0-9-]{8,}\b"
    r"|Exolve API response \d{3} \([^)]*\) for [\w/]+|Exolve API [\w ]*…"  # whole, or cut short in a table cell
)
RU_HEADERS = {"HTTP_ACCEPT_LANGUAGE": "ru-RU,ru;q=0.9,en;q=0.5"}


class ReaderText(HTMLParser):
    """What a reader sees: text nodes and the attributes a browser shows (tooltips, button labels).

    Left out: scripts and styles, raw codes set apart in <code>/<kbd>/<samp>, the tooltip
    holding an Exolve status string (`data-exolve-status`), and values of fields (data).
    """

    SKIPPED = {"script", "style", "code", "kbd", "samp", "textarea"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area", "base"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skipped = [], []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in self.SKIPPED:
            self._skipped.append(tag)
        if self._skipped:
            return
        for name in ("title", "aria-label", "placeholder", "alt"):
            if attributes.get(name) and not (name == "title" and "data-exolve-status" in attributes):
                self.parts.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button", "reset") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()

    def handle_data(self, data):
        if not self._skipped:
            self.parts.append(data)


def english_words(page: str, own_data=()) -> list[str]:
    """The Latin-letter words of `page` a Russian reader would see, once the user's own data is taken out."""
    parser = ReaderText()
    parser.feed(page)
    text = " ".join(parser.parts)
    for value in sorted(own_data, key=len, reverse=True):
        text = text.replace(value, " ")
    text = CODES.sub(" ", text)
    return sorted({word for word in LATIN_WORD.findall(text) if word not in PROPER_NAMES})


def test_english_words_finds_what_django_would_leave_in_english():
    page = (
        '<p>Голосовое сообщение</p><select><option value="">- Select an option -</option></select>'
        '<code>no_answer</code><span title="ringing" data-exolve-status="ringing">идёт вызов</span>'
        '<input type="submit" value="Go"><input name="q" value="typed by the user"><p>Exolve, XLSX, Europe/Moscow</p>'
    )
    assert english_words(page) == ["Go", "Select", "an", "option"]
    assert english_words('<p title="Show all">Все</p>') == ["Show", "all"]
    assert english_words("<p>Рассылка Greeting</p>", own_data=["Greeting"]) == []


@pytest.fixture
def full_portal(db, sandbox, settings):
    """A manager (the staff's widest role), and data on every page: messages, a broadcast with calls in
    every status, the stop list, a job. (A superuser's extra pages are the third-party apps' own:
    users and permissions, axes, task rows; their words come from those packages.)"""
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.auth.models import Group

    from audiences.models import StopListEntry
    from exolve_portal.roles import setup_roles
    from voicemessages.models import OrphanedVoiceMessage, VoiceMessage

    settings.LANGUAGE_CODE = "en"  # the browser asks for Russian: the pages must follow it
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_roles()
    admin_user = make_staff("chief", MANAGERS)
    operator = make_staff("operator-ru", OPERATORS)
    message = VoiceMessage.objects.create(name="Напоминание о приёме", media_id=1967)
    spare = VoiceMessage.objects.create(name="Акция выходного дня", media_id=1979)
    broadcast = make_broadcast(message, name=message.name, user=operator)
    broadcast.invalid_numbers = [["12345", "Слишком мало цифр для телефонного номера."]]
    broadcast.duplicate_numbers = ["79991234561"]
    broadcast.save()
    bulk_calls(13, voice_message=message, broadcast=broadcast, user=operator)  # every outcome case
    for index, status in enumerate(("rejected", "talk", "answered", "play_audio_stop", "initiated", "modified")):
        bulk_calls(1, voice_message=message, broadcast=broadcast, user=operator, first_number=100 + index,
                   state=CallState.SENT, status=status)  # fmt: skip
    StopListEntry.objects.create(number="79991230001", reason="asked", note="просил не звонить")
    OrphanedVoiceMessage.objects.create(exolve_id="0f3c2a9e-left-behind", name="Осталось в Exolve")
    LogEntry.objects.log_actions(admin_user.pk, [spare], ADDITION, change_message="", single_object=True)
    job = finished_sync_job(admin_user)
    own_data = [
        "chief", "operator-ru", "vm-1", message.exolve_id, spare.exolve_id, "0f3c2a9e-left-behind",
        *Group.objects.values_list("name", flat=True),
    ]  # fmt: skip
    return {"user": admin_user, "broadcast": broadcast, "message": message, "job": job, "own_data": own_data}


def admin_pages(client, objects):
    """(what, response) for every admin page: lists, forms, history, delete and action confirmations."""
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = objects["user"]
    yield "admin index", client.get(reverse("admin:index"), **RU_HEADERS)
    for model, model_admin in django_admin.site._registry.items():
        if not model_admin.has_view_or_change_permission(request):
            continue  # not a page this reader can open
        info = model._meta.app_label, model._meta.model_name
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        yield changelist, client.get(changelist, **RU_HEADERS)
        if model_admin.has_add_permission(request):
            add = reverse("admin:{}_{}_add".format(*info))
            yield add, client.get(add, **RU_HEADERS)
        first = model._default_manager.order_by("pk").first()
        if first is None:
            continue
        views = ["change", "history"] + (["delete"] if model_admin.has_delete_permission(request, first) else [])
        for view in views:
            url = reverse("admin:{}_{}_{}".format(*info, view), args=[first.pk])
            yield url, client.get(url, **RU_HEADERS)
        for action in model_admin.get_actions(request):
            # The first POST of an action: its confirmation page, or the list with its message.
            data = {"action": action, django_admin.helpers.ACTION_CHECKBOX_NAME: [first.pk]}
            yield f"{changelist} action {action}", client.post(changelist, data, follow=True, **RU_HEADERS)
    yield "stop-list import", client.get(reverse("admin:audiences_stoplistentry_import"), **RU_HEADERS)


def portal_pages(client, objects):
    broadcast = objects["broadcast"]
    yield "dashboard", client.get(reverse("portal:dashboard"), **RU_HEADERS)
    yield "send", client.get(reverse("portal:send"), **RU_HEADERS)
    preview = {
        "voice_message": objects["message"].pk,
        "source": SOURCE,
        "numbers": "79991234561\n+7 999 123-45-67\n12345\n79991230001",
        "token": "scan-token",
        "basis": "contract",
        "_preview": "1",
    }
    yield "send preview", client.post(reverse("portal:send"), preview, **RU_HEADERS)
    yield "calls", client.get(reverse("portal:calls"), **RU_HEADERS)
    yield "calls filtered", client.get(reverse("portal:calls"), {"outcome": "busy", "date_from": "x"}, **RU_HEADERS)
    yield "broadcast", client.get(reverse("portal:broadcast", args=[broadcast.pk]), **RU_HEADERS)
    for steer in ("broadcast_pause", "broadcast_stop", "broadcast_move", "broadcast_resend"):
        yield steer, client.post(reverse(f"portal:{steer}", args=[broadcast.pk]), follow=True, **RU_HEADERS)
    yield "job", client.get(reverse("jobs:job", args=[objects["job"].pk]), **RU_HEADERS)
    yield "404", client.get("/portal/broadcasts/999999/", **RU_HEADERS)


def test_every_staff_and_admin_page_has_no_english_word_in_russian(client, full_portal):
    client.force_login(full_portal["user"])
    leaks, seen = {}, 0
    for what, response in [*admin_pages(client, full_portal), *portal_pages(client, full_portal)]:
        assert response.status_code in (200, 404), (what, response.status_code)
        page = response.content.decode()
        assert '<html lang="ru"' in page, what
        seen += 1
        if words := english_words(page, full_portal["own_data"]):
            leaks[what] = words
    assert seen >= 45  # every page of the list above was rendered
    assert not leaks, "English on Russian pages:\n" + "\n".join(f"{what}: {words}" for what, words in leaks.items())


def test_the_refused_page_has_no_english_word_in_russian(client, db, russian_browser):
    client.force_login(make_staff("nobody-scan"))
    response = client.get(reverse("portal:send"), **russian_browser)
    assert response.status_code == 403
    assert english_words(response.content.decode(), ["nobody-scan", OPERATORS, MANAGERS]) == []
