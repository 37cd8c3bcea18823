"""Work handed to other threads: the language it speaks, and N requests in flight.

Django's active language is per thread: a pool thread has none, so text built there
(an error message for the reader) would come out in LANGUAGE_CODE, not the reader's.

`InFlight` keeps N requests to Exolve going while the calling thread keeps all the
database work: it hands items over, takes the results back when it chooses, and writes
them itself. The sender, the statistics refresh and the voice message sync share it.
"""

import functools
import queue
import threading
import time
from collections.abc import Callable

from django.utils import translation

_STOP = object()


def in_current_language[**P, R](fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, run in the language active now (where it is handed to a pool), wherever it runs."""
    language = translation.get_language()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override(language):
            return fn(*args, **kwargs)

    return run


class InFlight[T, R]:
    """`slots` threads run `work` on the items the calling thread hands over, one at a time each.

    A thread takes the next item as soon as its last one is done, so the calling thread's
    database work never holds a request back. Results come back as (item, outcome) pairs
    through `drain`; an exception `work` raises comes back as the outcome (the calling
    thread decides what it means). Items handed over but not taken by a thread yet were
    certainly not worked on: `take_back` and `close` return them. The threads speak the
    language active where the pool was made.
    """

    def __init__(self, work: Callable[[T], R], slots: int, *, name: str):
        self._work = work
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        run = in_current_language(self._run)
        self._threads = [threading.Thread(target=run, name=f"{name}-{i}", daemon=True) for i in range(max(slots, 1))]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        work, todo, done = self._work, self._todo, self._done
        while (item := todo.get()) is not _STOP:
            try:
                outcome = work(item)
            except Exception as exc:  # handed back: the calling thread records it
                outcome = exc
            done.put((item, outcome))

    def submit(self, item: T) -> None:
        """Hand an item over; the next free thread takes it."""
        self._todo.put(item)

    def take_back(self) -> list[T]:
        """The items no thread has taken yet (they will not be worked on)."""
        return _everything_in(self._todo)

    def drain(self, wait: float | None = 0.0, at_least: int = 1) -> list[tuple[T, R | Exception]]:
        """The results so far, waiting up to `wait` seconds (None: as long as it takes) for `at_least`.

        With `wait=None`, `at_least` must not exceed the items handed over and not drained.
        """
        finished = []
        if wait is None:
            while len(finished) < at_least:
                finished.append(self._done.get())
        elif wait > 0:
            deadline = time.monotonic() + wait
            while len(finished) < at_least:
                try:
                    finished.append(self._done.get(timeout=max(deadline - time.monotonic(), 0.0)))
                except queue.Empty:
                    break
        finished += _everything_in(self._done)
        return finished

    def close(self, give_back: Callable[[list[T]], object] | None = None) -> list[T]:
        """Take back the items not started (to `give_back` first), let the threads finish theirs, join them.

        The results of the last items stay to be drained.
        """
        threads, self._threads = self._threads, []
        unsent = self.take_back()
        try:
            if give_back is not None:
                give_back(unsent)
        finally:
            for _thread in threads:
                self._todo.put(_STOP)
            for thread in threads:
                thread.join()
        return unsent

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _everything_in(items: queue.SimpleQueue) -> list:
    found = []
    while True:
        try:
            found.append(items.get_nowait())
        except queue.Empty:
            return found
