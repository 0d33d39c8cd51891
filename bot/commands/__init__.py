"""What users and admins can ask of the bot: the command router and one module per area.

Handlers receive a `Context` and talk to the store, the job queue port and the catalogue;
they never see a platform object.
"""
