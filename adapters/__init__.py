"""Chat platform adapters: they translate platform events into the bot's command model."""
