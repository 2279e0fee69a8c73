"""The ``hrnet`` command: ``hrnet tables`` (complexity against the paper), ``hrnet convert``, ``hrnet reproduce``
(train and test the paper's rows through the frameworks' Runners; ``hrnet reproduce --help``)."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .layouts import TARGETS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reproduce"]:
        from .reproduce.cli import main as reproduce

        return reproduce(argv[1:])
    parser = argparse.ArgumentParser(prog="hrnet", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("tables", help="print #params / GFLOPs of the paper's tables beside the paper's numbers")

    commands.add_parser("reproduce", help="train and test the paper's rows (hrnet reproduce --help)")

    convert = commands.add_parser("convert", help="convert a checkpoint between state-dict layouts")
    convert.add_argument("src", help="input checkpoint (official, timm, OpenMMLab or mmpretrain layout)")
    convert.add_argument("dst", help="output file")
    convert.add_argument("--to", required=True, choices=TARGETS)

    args = parser.parse_args(argv)
    if args.command == "tables":
        from importlib.util import find_spec

        from .tables import print_tables

        status = print_tables()
        if find_spec("mmdet") is None:
            print("\nTable 7 (detection networks) needs mmdet, which builds them: make env (tools/setup_env.sh)")
            return status
        import warnings

        # mmengine 0.10 imports pkg_resources (pinned setuptools < 81 keeps it); its deprecation notice is not ours.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from .mm.table7 import print_table7
        from .resources import configs_dir

        try:
            folder = configs_dir()
        except FileNotFoundError as error:
            print(f"hrnet tables: Table 7 needs the paper's detection configs: {error}", file=sys.stderr)
            return 2
        return 1 if print_table7(str(folder)) else status
    from .checkpoint import CheckpointError, convert_file

    try:
        print(convert_file(args.src, args.dst, to=args.to))
    except CheckpointError as error:
        print(f"hrnet convert: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
