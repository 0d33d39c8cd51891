"""Benchmarks: scripts that print figures and assert nothing.

They may import everything in the project (the engine, the bot's composition root, one
another); only their own tests import them.
"""
