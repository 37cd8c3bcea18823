"""`manage.py exolve_sandbox`: serve the Exolve sandbox over HTTP on 127.0.0.1."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exolve_portal.exolve.sandbox import SANDBOX_API_KEY, Sandbox
from exolve_portal.exolve.sandbox_server import SandboxServer


def _media_ids(value):
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(f"--media-ids must be comma-separated integers, got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Serve a local stand-in of the Exolve Voice API on 127.0.0.1 until Ctrl-C. "
        "Point EXOLVE_API_URL at it and use the sandbox key as EXOLVE_API_KEY."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8099, help="Port (0: any free port). Default 8099.")
        parser.add_argument(
            "--state",
            default=None,
            help="SQLite state file, shared with the portal's in-process sandbox. "
            "Default: the EXOLVE_SANDBOX_STATE setting.",
        )
        parser.add_argument(
            "--latency-ms", type=float, default=None, help="Delay every request (persisted in the state)."
        )
        parser.add_argument("--media-ids", type=_media_ids, default=None, help="Known media ids, e.g. 1967,1979.")
        parser.add_argument("--key", default=SANDBOX_API_KEY, help="The API key the sandbox accepts.")
        parser.add_argument("--reset", action="store_true", help="Forget all sandbox state first.")

    def handle(self, *args, port, state, latency_ms, media_ids, key, reset, **options):
        state = state or settings.EXOLVE_SANDBOX_STATE
        sandbox = Sandbox(state, api_keys=(key,), media_ids=media_ids)
        if reset:
            sandbox.reset()
        if latency_ms is not None:
            sandbox.set_latency(latency_ms / 1000)
        # Only ever 127.0.0.1: the control endpoint has no authentication.
        server = SandboxServer(sandbox, host="127.0.0.1", port=port)
        config = sandbox.config()
        self.stdout.write(
            f"Exolve sandbox on {server.url} (state {state}; media ids "
            f"{', '.join(map(str, config['media_ids']))}; latency {config['latency'] * 1000:g} ms). "
            "Ctrl-C to stop."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            sandbox.close()
            self.stdout.write("Exolve sandbox stopped.")
