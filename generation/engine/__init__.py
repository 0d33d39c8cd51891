"""The torch side of generation: pipeline cache, service thread, schedulers, tiny models.

Imports torch and diffusers (lazily where start-up time matters); knows nothing of chat.
"""
