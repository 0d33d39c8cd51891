"""Benchmarks: scripts that print figures and assert nothing.

They may import everything in the project (the engine, the bot's composition root, one
another, and the test suite's fakes of the platforms' wire protocols, which `bench_bot`
drives the bot through); only their own tests import them.
"""
