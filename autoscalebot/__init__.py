"""autoscalebot: keeps a web app's dyno count right-sized.

Importing this package pulls in neither Django nor Textual; the Django glue
(``autoscalebot.apps``, ``autoscalebot.urls``) loads only when Django asks.
"""

__version__ = "3.0.0"
