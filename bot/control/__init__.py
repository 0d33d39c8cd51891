"""Admin control of the processes that hold pipelines: what each holds, preload, unload.

`port` is the interface admin commands use; `inprocess` drives the generation service of a
process that generates itself (the embedded queue); `database` reaches every worker of a
procrastinate deployment through the `workers` tables, and holds the worker's side of it.
May import storage and generation (the engine only lazily, only where a service is given);
not commands, jobs or app.
"""
