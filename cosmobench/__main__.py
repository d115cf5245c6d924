import sys

from cosmobench.cli import main

sys.exit(main())
