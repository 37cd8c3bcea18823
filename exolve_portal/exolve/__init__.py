"""A Django-free client for the Exolve Voice API, its errors, and a local sandbox."""

from .client import CallInfo, ExolveClient, RateLimiter, VoiceMessageInfo, VoiceMessageSummary
from .errors import ExolveError
from .owned_numbers import OwnedNumber

__all__ = [
    "CallInfo",
    "ExolveClient",
    "ExolveError",
    "OwnedNumber",
    "RateLimiter",
    "VoiceMessageInfo",
    "VoiceMessageSummary",
]
