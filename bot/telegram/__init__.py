"""The Telegram channel (aiogram 3): updates → neutral events, neutral replies → Bot API calls.

``service.TelegramService`` runs it (polling or webhook); ``channel.TelegramChannel`` pushes
outbox notices. Nothing here stores or logs who a sender is.
"""

CHANNEL = "telegram"
