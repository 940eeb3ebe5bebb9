import sys

from scripts.nimbench.cli import main

sys.exit(main())
