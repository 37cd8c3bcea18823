"""A one-line progress bar for the management commands of every app (voicemessages and calls)."""


class ProgressBar:
    """Redrawn in place on one line, and drawn only when ``stream`` is a terminal.

    Call it with ``(done, total)``, or give ``total`` once and ``advance(count)`` by steps.
    ``finish()`` ends the line, if one was drawn.
    """

    WIDTH = 30

    def __init__(self, stream, label: str = "", total: int = 0):
        self.stream = stream
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._draw()

    def advance(self, count: int) -> None:
        self.done += count
        self._draw()

    def _draw(self) -> None:
        if not self.enabled or not self.total:
            return
        filled = self.WIDTH * min(self.done, self.total) // self.total
        prefix = f"{self.label} " if self.label else ""
        self.stream.write(f"\r{prefix}[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total}")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
