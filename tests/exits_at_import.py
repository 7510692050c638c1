"""A module named as a job's callable that calls sys.exit() as it is imported
(tests/integration/test_config_mistakes.py): the mistake is the file's to report."""

import sys

sys.exit(3)
