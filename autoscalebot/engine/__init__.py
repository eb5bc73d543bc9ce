"""The headless engine: beat loop, decisions, schedules, events and commands.

Pure Python and httpx (through the backends); never Textual or Rich, so the
same engine runs on a worker dyno and under the operator console.
"""
