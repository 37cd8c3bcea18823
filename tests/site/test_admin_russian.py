"""An administrator never meets English: every admin page linked from the index, in Russian.

A superuser reading Russian opens the admin index, every link on it (each model's list
and its "add" page) and, for each list, the first object's page; no Latin word may be
left in what the page shows (file formats, proper names, e-mail addresses, URLs and
the sandbox's sample data aside). Counts and titles use the grammatical forms Russian
needs ("6 рассылок", "Выберите рассылку для изменения").
"""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audiences.models import StopListEntry
from caller_numbers.models import CallerNumber
from exolve_portal.roles import MANAGERS, OPERATORS, setup_roles
from jobs.tasks import run_job
from tests.factories import FAST_PASSWORD_HASHERS
from tests.pages_helpers import bulk_calls, make_broadcast
from tests.site.test_i18n import VisibleText
from voicemessages.models import OrphanedVoiceMessage

# Latin words a Russian page may show: file formats, proper names (keys, "English" in the
# language switch), units and the like.
ALLOWED = {
    *("English", "Control", "Command", "Mac", "LDAP", "IP", "CSV", "XLSX", "Excel", "Exolve", "Django"),
    *("ID", "UTC", "SQL", "JSON", "HTTP", "URL", "API"),
}
# What is not a word to translate: e-mail addresses, URLs, identifiers with digits or dots.
# A masked password hash ("jm******"), and axes's "<unknown>" for a login without a page;
# a task's UUID (its "bfad" is no English word).
NOT_WORDS = re.compile(
    r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|\S+@\S+|https?://\S+|\b\w*\d\w*\b|\b\w+(?:[._]\w+)+\b|\S*\*{3,}\S*|<unknown>"
)
LATIN_WORD = re.compile(r"\b[A-Za-z]+(?:['-][A-Za-z]+)*\b")


@pytest.fixture
def russian(settings):
    settings.LANGUAGE_CODE = "ru"
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
    return {"HTTP_ACCEPT_LANGUAGE": "ru"}


@pytest.fixture
def one_of_each(db, voice_message, russian):
    """One object of every kind the admin lists, with Russian sample data."""
    setup_roles()
    admin = User.objects.create_superuser("администратор", "admin@example.com", "pw", first_name="Анна")
    voice_message.name = "Приветствие"
    voice_message.save(update_fields=["name"])
    broadcast = make_broadcast(voice_message, name="Приветствие", user=admin)
    bulk_calls(3, voice_message=voice_message, broadcast=broadcast, user=admin)
    StopListEntry.objects.create(number="79991234567", note="Просил не звонить", added_by=admin)
    OrphanedVoiceMessage.objects.create(exolve_id="4242", name="Приветствие", reason=OrphanedVoiceMessage.REASONS[0][0])
    now = timezone.now()
    CallerNumber.objects.create(
        number="74951234567", kind="city", type_name="ABC", region="Москва", category="Обычный", description="Офис",
        label_name="ООО Ромашка", label_category="Доставка", first_seen_at=now, last_seen_at=now,
    )  # fmt: skip
    AccessAttempt.objects.create(username="оператор", ip_address="127.0.0.1", failures_since_start=2, user_agent="")
    AccessLog.objects.create(username="оператор", ip_address="127.0.0.1", user_agent="", attempt_time=now)
    AccessFailureLog.objects.create(
        username="оператор", ip_address="127.0.0.1", user_agent="", attempt_time=now, locked_out=False
    )
    DBTaskResult.objects.create(
        task_path=f"{run_job.module_path}",
        args_kwargs={"args": [1], "kwargs": {}},
        status="SUCCESSFUL",
        enqueued_at=now - timedelta(seconds=5),
        started_at=now - timedelta(seconds=4),
        finished_at=now,
        return_value=None,
        backend_name="default",
    )
    LogEntry.objects.log_actions(
        admin.pk, [voice_message], ADDITION, change_message=[{"added": {}}], single_object=True
    )
    assert ContentType.objects.count()
    return admin


def admin_links(client, russian) -> list[str]:
    """Every admin page the index links to, and the first object's page of every list."""
    index = client.get(reverse("admin:index"), **russian).content.decode()
    links = sorted(set(re.findall(r'href="(/admin/[^"#?]+/)"', index)))
    pages = list(links)
    for link in links:
        if link.endswith("/add/"):
            continue
        listing = client.get(link, **russian).content.decode()
        first = re.search(rf'href="({re.escape(link)}[^"/]+/change/)[^"]*"', listing)
        if first:
            pages.append(first.group(1))
    return pages


class ShownText(VisibleText):
    """What the page shows in words: not the values of choices (an option's, a radio's), nor
    machine text set apart for engineers (`<code>`, `<pre>`, Exolve's raw status), nor the
    alt text Django gives its yes/no icons (English in every language, beside a translated title)."""

    MACHINE = ("code", "pre")

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag in ("option", "button") or found.get("type") in ("radio", "checkbox"):
            attrs = [(name, value) for name, value in attrs if name != "value"]
        if "data-exolve-status" in found:
            attrs = [(name, value) for name, value in attrs if name != "title"]
        if tag == "img" and re.search(r"icon-(yes|no|unknown)\.svg", found.get("src", "")):
            attrs = [(name, value) for name, value in attrs if name != "alt"]
        if tag in self.MACHINE:
            self._skip += 1
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self.MACHINE:
            self._skip -= 1
        super().handle_endtag(tag)


def shown_text(page: str) -> str:
    parser = ShownText()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def latin_words(text: str) -> list[str]:
    return sorted({word for word in LATIN_WORD.findall(NOT_WORDS.sub(" ", text)) if word not in ALLOWED})


def test_every_admin_page_linked_from_the_index_speaks_russian(client, one_of_each, russian):
    client.force_login(one_of_each)
    pages = admin_links(client, russian)
    assert len(pages) >= 20, pages
    english = {}
    for url in pages:
        response = client.get(url, **russian)
        assert response.status_code == 200, url
        words = latin_words(shown_text(response.content.decode()))
        if words:
            english[url] = words
    assert not english, "English on Russian admin pages:\n" + "\n".join(f"{u}: {w}" for u, w in english.items())


def test_counts_and_titles_read_as_russian(client, one_of_each, russian):
    client.force_login(one_of_each)
    StopListEntry.objects.create(number="79991234568", added_by=one_of_each)
    for extra in range(4):
        make_broadcast(name=f"Рассылка {extra}", user=one_of_each)
    broadcasts = shown_text(client.get(reverse("admin:calls_broadcast_changelist"), **russian).content.decode())
    assert "5 рассылок" in broadcasts and "Выбор для просмотра: рассылка" in broadcasts
    stop_list = shown_text(client.get(reverse("admin:audiences_stoplistentry_changelist"), **russian).content.decode())
    assert "2 номера в стоп-листе" in stop_list
    users = shown_text(client.get(reverse("admin:auth_user_add"), **russian).content.decode())
    assert "Добавить пользователь" not in users and "Добавление: пользователь" in users
    assert "Сохранить и добавить ещё" in users and "другой объект" not in users
    orphans = shown_text(
        client.get(reverse("admin:voicemessages_orphanedvoicemessage_changelist"), **russian).content.decode()
    )
    assert "1 голосовое сообщение, оставшееся в Exolve" in orphans


def test_roles_and_permissions_are_shown_in_russian_and_stored_as_they_were(client, one_of_each, russian):
    from django.contrib.auth.models import Group

    client.force_login(one_of_each)
    groups = shown_text(client.get(reverse("admin:auth_group_changelist"), **russian).content.decode())
    assert "Операторы" in groups and "Менеджеры" in groups
    assert set(Group.objects.values_list("name", flat=True)) >= {OPERATORS, MANAGERS}
    managers = Group.objects.get(name=MANAGERS)
    page = client.get(reverse("admin:auth_group_change", args=[managers.pk]), **russian).content.decode()
    assert "Рассылки: добавление" in page and "Can add" not in page
    # A role's name is not editable: the portal finds the group by it.
    assert 'name="name"' not in page


def test_filter_titles_read_as_the_field_not_as_a_broken_case(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/calls/broadcast/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "<summary>Основание</summary>" in page and "По основание" not in page
