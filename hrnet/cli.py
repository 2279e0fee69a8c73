"""The ``hrnet`` command: ``hrnet tables`` (complexity against the paper), ``hrnet convert``, ``hrnet reproduce``
(train and test the paper's rows through the frameworks' Runners; ``hrnet reproduce --help``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["reproduce"]:
        from .reproduce.cli import main as reproduce

        return reproduce(argv[1:])
    parser = argparse.ArgumentParser(prog="hrnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("tables", help="print #params / GFLOPs of the paper's tables beside the paper's numbers")

    commands.add_parser("reproduce", help="train and test the paper's rows (hrnet reproduce --help)")

    convert = commands.add_parser("convert", help="convert a checkpoint between state-dict layouts")
    convert.add_argument("src", help="input checkpoint (official, timm, OpenMMLab or mmpretrain layout)")
    convert.add_argument("dst", help="output file")
    convert.add_argument("--to", required=True, choices=("timm", "official", "mm", "mmpretrain"))

    args = parser.parse_args(argv)
    if args.command == "tables":
        from .tables import print_tables

        return print_tables()
    from .checkpoint import CheckpointError, convert_file

    try:
        print(convert_file(args.src, args.dst, to=args.to))
    except CheckpointError as error:
        print(f"hrnet convert: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
