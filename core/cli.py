"""Entry point of the `experts` command.

`serve` runs on gevent, whose monkey-patching must happen before anything else is imported;
so this module imports nothing heavy and patches first when asked to serve.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the `experts` command line."""
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        from gevent import monkey

        monkey.patch_all()
        os.environ["EXPERTS_ASYNC_MODE"] = "gevent"
    from core.commands import cli

    cli(prog_name="experts")


if __name__ == "__main__":
    main()
