"""Loopback stand-ins for the outside world: a Heroku API emulator and a heartbeat server."""
