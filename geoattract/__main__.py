"""``python -m geoattract`` runs the command line."""

import sys

from geoattract.app.cli import main

sys.exit(main())
