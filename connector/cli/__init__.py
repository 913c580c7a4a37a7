"""``python -m connector`` (or ``connector``): the operator's command line. ``main`` builds the
parser and runs a command; each command group lives in its own module (``directory``,
``credentials``, ``evidence``, ``ops``), sharing ``support``."""
