"""Signals of the send engine that apps above it (schedules) may listen to, without calls knowing them."""

from django.dispatch import Signal

# Sent when a worker starts, and again after database trouble: work left behind is looked for
# (calls/management/commands/db_worker.py). Receivers make sure their own periodic tasks are scheduled.
worker_looking_for_work = Signal()
