"""``lianzu`` sub-commands, one module per area; each has ``register(subparsers)``."""

MODULES = [
    "bot.commands.core",
    "bot.commands.keys",
    "bot.commands.staff",
    "bot.commands.report",
    "bot.commands.campaign",
]
