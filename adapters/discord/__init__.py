"""The Discord adapter (discord.py): slash commands, buttons and menus in, replies out."""
