"""The kinds of background job: what each does, and how its outcome reads to staff.

An app registers its kinds from its own ``jobs.py`` (imported in its AppConfig.ready),
so this app never imports the apps that use it. A kind is:

- ``name``: a stable string stored on each Job ("voicemessages.sync");
- ``title``: a lazy translatable title for the progress page;
- ``run(job, progress) -> dict``: does the work in the worker and returns a
  JSON-serialisable result; ``progress(done, total)`` may be called as it goes. It
  raises ``JobFailed(result)`` when the work could not be done at all;
- ``describe(result) -> [(level, text), ...]``: the outcome in plain words, in the
  active language (so the page speaks the viewer's language, not the worker's).
  Levels are the admin's message levels: "success", "info", "warning", "error".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[int, int], None]  # (done, total)


class JobFailed(Exception):
    """The job could not do its work; ``result`` says why (described like any result)."""

    def __init__(self, result: dict):
        self.result = result
        super().__init__(result)


@dataclass(frozen=True)
class JobKind:
    name: str
    title: object  # a lazy translatable string
    run: Callable
    describe: Callable[[dict], list[tuple[str, str]]]


_KINDS: dict[str, JobKind] = {}


def register(name: str, *, title, describe: Callable[[dict], list[tuple[str, str]]]):
    """Decorator: register ``run`` as the job kind ``name``."""

    def decorator(run):
        _KINDS[name] = JobKind(name=name, title=title, run=run, describe=describe)
        return run

    return decorator


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)
