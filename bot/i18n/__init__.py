"""Every sentence the bot says, in English, Russian and Arabic, keyed by stable ids.

Pure data plus lookup; imports only `generation.messages`.
"""
