"""Gunicorn settings for the portal, read from the environment (see .env.example).

Gunicorn loads this file by itself when started from the project directory:
``.venv/bin/gunicorn`` is all the systemd unit runs (deploy/exolve-portal-web.service).
"""

import multiprocessing
import os
from pathlib import Path

import environ

from exolve_portal.logs import build_logging

# The same .env beside manage.py that settings.py reads; the real environment wins.
environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)

wsgi_app = "exolve_portal.wsgi:application"

# Behind nginx on the same host: listen on loopback only.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
# Threads let one worker serve other pages while a request waits on Exolve.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Longer than an Exolve request with its retries (EXOLVE_TIMEOUT 15 s by default).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# Only the proxy on this host may say "this came over HTTPS" (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The same JSON-on-stdout logging as the portal, secrets redacted; gunicorn's error
# and access logs propagate to it. The access line never contains request headers.
logconfig_dict = build_logging(
    json_format=os.environ.get("LOG_FORMAT", "json") == "json",
    level=os.environ.get("LOG_LEVEL", "INFO"),
)
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# systemd manages the processes (reload: `systemctl reload`, i.e. HUP); no gunicornc
# socket in the service user's home, where it would also clash between instances.
control_socket_disable = True
