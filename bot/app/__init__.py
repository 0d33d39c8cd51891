"""The top of the bot: settings, the composition root, process roles, the command line, demo.

Only this package builds things (store, queue, engine, adapters) and wires them together; it
may import anything in the project. Nothing else in `bot/` imports it.
"""
