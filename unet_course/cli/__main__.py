"""``python -m unet_course.cli``: the ``unet-course`` command."""

import sys

from unet_course.cli import main

sys.exit(main())
