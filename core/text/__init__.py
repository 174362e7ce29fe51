"""Text rules shared by the Django apps and the scripts (YouTube's limits, the storyboard format,
the channel brief, input bounds). Plain Python: nothing here imports Django, so a script can
import it without settings or a database."""
