"""The portal's settings for bench/bench_api.py: its URLs plus one bare view (bench/api_urls.py)."""

from exolve_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
