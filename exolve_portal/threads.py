"""Work handed to other threads speaks the language of the thread that handed it over.

Django's active language is per thread: a pool thread has none, so text built there
(an error message for the reader) would come out in LANGUAGE_CODE, not the reader's.
"""

import functools
from collections.abc import Callable

from django.utils import translation


def in_current_language[**P, R](fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, run in the language active now (where it is handed to a pool), wherever it runs."""
    language = translation.get_language()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override(language):
            return fn(*args, **kwargs)

    return run
