"""Print the README's quick start as a program: the first ``python`` code block under the "Quick start" heading.

    python tools/readme_quickstart.py README.md | python -      (what tools/check_installed.sh runs)

So the quick start a user copies is the one that is run against the installed wheel; an edit that breaks it fails
the check. Exits 1 when the README has no such section or block.
"""

from __future__ import annotations

import re
import sys

SECTION = re.compile(r"^#+\s+Quick start\s*$", re.IGNORECASE | re.MULTILINE)
BLOCK = re.compile(r"^```python\n(?P<code>.*?)^```", re.DOTALL | re.MULTILINE)


def quick_start(readme: str) -> str:
    section = SECTION.search(readme)
    if section is None:
        raise ValueError("the README has no 'Quick start' heading")
    block = BLOCK.search(readme, section.end())  # the first one after the heading (a "# " line may be a comment)
    if block is None:
        raise ValueError("the README's 'Quick start' section has no ```python block")
    return block.group("code")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as readme:
        try:
            print(quick_start(readme.read()))
        except ValueError as error:
            print(f"{argv[0]}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
