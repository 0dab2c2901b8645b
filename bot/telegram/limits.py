"""Telegram Bot API limits, named once."""

# Characters of text in one message (after entity parsing, so raw characters count).
MESSAGE_CHARS = 4096
# Largest file the public Bot API server lets a bot download through getFile.
PUBLIC_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Bot command names: 1-32 of a-z, 0-9 and _; descriptions 1-256 characters.
COMMAND_NAME_CHARS = 32
COMMAND_DESCRIPTION_CHARS = 256
# Seconds one getUpdates long poll may wait.
POLL_TIMEOUT_SECONDS = 30
# The webhook secret token: 1-256 of A-Z, a-z, 0-9, _ and -.
WEBHOOK_SECRET_PATTERN = r"^[A-Za-z0-9_-]{1,256}$"
