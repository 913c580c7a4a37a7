"""``python -m simulators docmgmt|onestop [--port N] ...``: a partner-system simulator alone."""

import sys

from simulators.cli import main

sys.exit(main())
