"""The platform-neutral Kandinsky bot: settings, commands, queue and the composition root."""
