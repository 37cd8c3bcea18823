"""What the portal knows of the sandbox's account: its URL, key, media ids, caller numbers and outcomes.

The portal shows these to staff (the sandbox banner and hints, the caller numbers in
sandbox mode) and the sandbox is built from them, so they live here, apart from the
sandbox's code: importing them loads no part of the sandbox. Django-free.
"""

SANDBOX_API_KEY = "sandbox-key"
# `.invalid` can never resolve, so a request that misses the mounted adapter fails
# instead of leaving the machine.
SANDBOX_BASE_URL = "http://exolve-sandbox.invalid"
# The media ids that exist in the sandbox's (imaginary) media library.
DEFAULT_MEDIA_IDS = (1967, 1979)
# The account's caller numbers (what the caller-number choice offers in sandbox mode).
SANDBOX_SOURCE_NUMBERS = ("74951234567", "74957654321")
# A sandbox call's final status by the destination's last digit; every other digit completes.
FINAL_STATUS_BY_LAST_DIGIT = {"6": "no_answer", "7": "busy", "8": "failed"}
