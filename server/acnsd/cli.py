"""The `acnsd` console entry.

Rule owned here: `acnsd reload --config C` (the command an operator runs after each edit)
takes the light path of reload.py, which imports almost nothing; every other command,
and a reload the light path leaves (see reload.py), runs the whole command line
(commands.py), imported only then.
"""

import sys

from .reload import light_reload

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    code = light_reload(args)
    if code is not None:
        return code
    from .commands import main as command_line

    return command_line(args)


if __name__ == "__main__":
    sys.exit(main())
