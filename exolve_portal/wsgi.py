"""WSGI entry point (gunicorn exolve_portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exolve_portal.settings")

application = get_wsgi_application()
