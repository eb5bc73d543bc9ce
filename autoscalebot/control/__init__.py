"""The control channel: a running bot's Unix socket, and the clients that use it.

A bot (``autoscalebot --headless``, ``manage.py run_autoscalebot``) serves
:class:`~autoscalebot.control.server.ControlServer`; the console
(``autoscalebot-tui --attach``) and ``autoscalebot ctl`` connect to it. The
wire format is JSON lines (:mod:`autoscalebot.control.protocol`). Nothing here
imports Textual or Rich.
"""
