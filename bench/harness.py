"""The benchmarks' scaffolding: a throw-away database, the sandbox over HTTP, real workers.

Everything started here is a child process of the benchmark run (own session, so its
whole process group can be stopped) and is stopped in `Harness.close()`, which also
drops the benchmark database; `close()` runs on normal exit, on exceptions and on
SIGINT/SIGTERM. Every wait has a timeout.

Django-free on purpose: the orchestrator creates the database before Django reads
its settings.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = str(ROOT / "manage.py")
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    pass


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; BenchError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_control(url: str, action: str, **arguments):
    """Drive the sandbox server in its own process (BenchError when it refuses)."""
    from exolve_portal.exolve.sandbox_server import control  # Django-free

    try:
        return control(url, action, **arguments)
    except RuntimeError as exc:
        raise BenchError(str(exc)) from exc


class Harness:
    def __init__(self, *, verbose: bool = False, sqlite: bool = False):
        self.verbose = verbose
        self.tmp = Path(tempfile.mkdtemp(prefix="exolve-bench-"))
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.workers: list[subprocess.Popen] = []
        self.db_name: str | None = None
        self.database_url = ""
        self.backend = ""
        self.sandbox_url = ""
        self.sandbox_state = str(self.tmp / "sandbox.sqlite3")
        self._closed = False
        self.started = time.monotonic()
        # Extra environment for the workers only (see run_all.py).
        self.worker_env: dict = {}
        self._force_sqlite = sqlite
        self._old_handlers = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)

    def log(self, text: str) -> None:
        print(f"  [{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # --- environment ------------------------------------------------------------

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            env.pop(name, None)
        env.update(
            DATABASE_URL=self.database_url,
            EXOLVE_SANDBOX="off",
            EXOLVE_API_URL=self.sandbox_url,
            EXOLVE_API_KEY="sandbox-key",
            EXOLVE_MAX_IN_FLIGHT="20",
            EXOLVE_MAX_RPS="0",
            EXOLVE_SOURCE_NUMBERS="74951234567",
            DEBUG="on",
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            LOG_LEVEL="WARNING",
            LANGUAGE_CODE="en",  # readable notes in the table
            EXOLVE_CALLING_HOURS="any",  # the bench runs at any hour; calling hours are measured on their own
            NO_PROXY="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
            DJANGO_SETTINGS_MODULE="exolve_portal.settings",
        )
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def apply_env(self) -> None:
        """Make this process's environment the workers' (before Django is set up here)."""
        os.environ.clear()
        os.environ.update(self.env())

    # --- database -----------------------------------------------------------------

    def create_database(self) -> None:
        if not self._force_sqlite:
            try:
                import psycopg

                name = f"exolve_portal_bench_{os.getpid()}"
                with psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=3, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    conn.execute(f'CREATE DATABASE "{name}"')
                self.db_name = name
                self.database_url = f"{POSTGRES_SERVER}/{name}"
                self.backend = "postgresql"
            except Exception as exc:  # noqa: BLE001 - any failure: fall back to SQLite
                self.log(f"PostgreSQL does not answer ({type(exc).__name__}: {exc}); using SQLite")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.tmp / 'portal.sqlite3'}"
            self.backend = "sqlite"
        self.log(f"database: {self.backend} ({self.database_url})")

    def drop_database(self) -> None:
        if not self.db_name:
            return
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=5, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self.db_name = None

    def migrate(self) -> None:
        self.manage("migrate", "--no-input", timeout=600)

    def manage(self, *args: str, timeout: float = 300, **env) -> str:
        """Run `manage.py <args>` to completion; its output, or BenchError with it."""
        return self.run([PYTHON, MANAGE, *args], timeout=timeout, **env)

    def run(self, argv: list[str], timeout: float, **env) -> str:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.processes.append((" ".join(argv[1:3]), proc))
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._stop(proc)
            raise BenchError(f"{' '.join(argv[1:])} did not finish within {timeout:.0f}s")
        finally:
            self.processes = [(n, p) for n, p in self.processes if p is not proc]
        if proc.returncode:
            raise BenchError(f"{' '.join(argv[1:])} exited {proc.returncode}:\n{output[-3000:]}")
        return output

    def pools(self, mode: str, *args: str, pools: int = 1, timeout: float = 600) -> dict:
        """The floor: `pools` bare 20-thread pools over the client (bench/pool.py <mode>),
        each in a process of its own, all starting at the same moment. `args` per pool
        (a list of argument tuples, one per pool) or the same for one pool.

        Returns the wall time from the first start until the last pool finished, and
        the pools' CPU time over their requests (the bare client's cost, no Django)."""
        per_pool = args[0] if args and isinstance(args[0], list) else [args] * pools
        start_at = time.time() + 1.5 + 0.5 * pools  # after every pool has imported the client
        procs = []
        for pool_args in per_pool:
            argv = [PYTHON, str(ROOT / "bench" / "pool.py"), mode, self.sandbox_url, f"{start_at:.3f}", *pool_args]
            procs.append(
                subprocess.Popen(
                    argv,
                    cwd=ROOT,
                    env=self.env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,
                )
            )
        self.processes.extend(("pool", proc) for proc in procs)
        answers = []
        try:
            for proc in procs:
                output, _ = proc.communicate(timeout=timeout)
                if proc.returncode:
                    raise BenchError(f"pool.py exited {proc.returncode}:\n{output[-3000:]}")
                answers.append(json.loads(output.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:
            raise BenchError(f"the bare pools did not finish within {timeout:.0f}s") from None
        finally:
            for proc in procs:
                if proc.poll() is None:
                    self._stop(proc)
            self.processes = [(n, p) for n, p in self.processes if p not in procs]
        count, failed = sum(a["count"] for a in answers), sum(a["failed"] for a in answers)
        if failed:
            raise BenchError(f"the bare pools ({mode}): {failed} of {count} requests failed")
        return {
            "wall": max(a["end"] for a in answers) - min(a["start"] for a in answers),
            "late_start": max(a["start"] for a in answers) - start_at,
            "cpu": sum(a["cpu"] for a in answers),
            "count": count,
        }

    def child(self, *args: str, timeout: float = 600, **env) -> dict:
        """Run `bench/child.py <args>` in a fresh process; its JSON answer (last line)."""
        output = self.run([PYTHON, str(ROOT / "bench" / "child.py"), *args], timeout=timeout, **env)
        for line in reversed(output.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise BenchError(f"child {args[0]} printed no result:\n{output[-3000:]}")

    # --- sandbox ------------------------------------------------------------------

    def start_sandbox(self, latency_ms: float = 0) -> None:
        port = free_port()
        log = open(self.tmp / "sandbox.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [PYTHON, MANAGE, "exolve_sandbox", "--port", str(port), "--state", self.sandbox_state,
             "--latency-ms", str(latency_ms), "--reset"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(("sandbox", proc))
        self.sandbox_url = f"http://127.0.0.1:{port}"

        def answers():
            if proc.poll() is not None:
                raise BenchError(f"the sandbox exited: {(self.tmp / 'sandbox.log').read_text()[-2000:]}")
            try:
                return sandbox_control(self.sandbox_url, "config")
            except (OSError, BenchError):
                return None

        wait_until(answers, 60, 0.1, "the sandbox to answer")
        self.log(f"sandbox: {self.sandbox_url} (separate process, pid {proc.pid})")

    def sandbox(self, action: str, **arguments):
        return sandbox_control(self.sandbox_url, action, **arguments)

    def set_latency(self, ms: float) -> None:
        self.sandbox("set_latency", seconds=ms / 1000)

    # --- workers ------------------------------------------------------------------

    def start_workers(self, count: int) -> list[subprocess.Popen]:
        self.stop_workers()
        for index in range(count):
            log = open(self.tmp / f"worker-{index}.log", "a")  # noqa: SIM115 - closed with the process
            proc = subprocess.Popen(
                [PYTHON, MANAGE, "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.05",
                 "--worker-id", f"bench-{os.getpid()}-{index}-{time.monotonic_ns() % 10**9}"],
                cwd=ROOT, env=self.env(**self.worker_env), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self.processes.append((f"worker {index}", proc))
            self.workers.append(proc)
        return self.workers

    def check_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is not None:
                raise BenchError(f"a worker exited ({proc.returncode}); see {self.tmp}/worker-*.log")

    def stop_workers(self) -> None:
        for proc in self.workers:
            self._stop(proc)
        self.processes = [(n, p) for n, p in self.processes if p not in self.workers]
        self.workers = []

    # --- cleanup ------------------------------------------------------------------

    @staticmethod
    def _stop(proc: subprocess.Popen, grace: float = 10) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the group is its id
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def close(self, keep_tmp: bool = False, keep_db: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        for _name, proc in reversed(self.processes):
            try:
                self._stop(proc)
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                print(f"could not stop pid {proc.pid}: {exc}", file=sys.stderr)
        self.processes = []
        self.workers = []
        if keep_db:
            print(f"database kept: {self.database_url}", file=sys.stderr)
            self.db_name = None
        try:
            self.drop_database()
        except Exception as exc:  # noqa: BLE001
            print(f"could not drop database {self.db_name}: {exc}", file=sys.stderr)
        if not keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
