"""The documented endpoint paths (relative to the base URL), shared by the client and the sandbox."""

CREATE = "voice-message/v1/Create"
GET_LIST = "voice-message/v1/GetList"
GET_INFO = "voice-message/v1/GetInfo"
DELETE = "voice-message/v1/Delete"
MAKE_VOICE_MESSAGE = "call/v1/MakeVoiceMessage"
CALL_GET_INFO = "call/v1/GetInfo"
# The numbering API: the numbers the application owns (exolve-media-sms-api.md, "Related").
NUMBERS_GET_LIST = "number/customer/v1/GetList"
# The SMS API (exolve-media-sms-api.md, "SendSMS"): not idempotent, like MakeVoiceMessage.
SEND_SMS = "messaging/v1/SendSMS"

ALL = (CREATE, GET_LIST, GET_INFO, DELETE, MAKE_VOICE_MESSAGE, CALL_GET_INFO, NUMBERS_GET_LIST, SEND_SMS)
# Safe to repeat after an ambiguous failure: reads, and Delete (deleting twice is harmless).
IDEMPOTENT = frozenset({GET_LIST, GET_INFO, DELETE, CALL_GET_INFO, NUMBERS_GET_LIST})
