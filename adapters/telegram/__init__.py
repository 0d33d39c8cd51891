"""The Telegram adapter (python-telegram-bot): updates in, the bot's replies out."""
