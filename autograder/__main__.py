"""`python -m autograder` is the `grade` command."""

import sys

from autograder.cli import main

sys.exit(main())
