"""``python -m tests.scenario.aws_loop [--until N]``: run the AWS loop (``make aws-loop``)."""

import sys

from .loop import main

sys.exit(main())
