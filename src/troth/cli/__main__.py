import sys

from troth.cli import main

sys.exit(main())
