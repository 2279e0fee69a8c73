"""Fail a test run that skipped a test for a reason it was not allowed to: nothing skips silently.

    python tools/audit_skips.py JUNIT_XML [--allow TEXT ...]

Reads pytest's ``--junitxml`` report; every skipped test whose reason contains none of the ``--allow`` texts is
printed, and the exit status is 1 if there is any (or if the report counts no passed test). The counts are printed
on one line, ``N passed, N failed, N skipped``.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ElementTree


def audit(report: str, allowed: list[str]) -> int:
    cases = ElementTree.parse(report).getroot().iter("testcase")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    refused = []
    for case in cases:
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif skipped is not None:
            counts["skipped"] += 1
            reason = f"{skipped.get('message', '')} {skipped.text or ''}"  # module skips keep theirs in the text
            if not any(text in reason for text in allowed):
                refused.append(f"{case.get('classname')}::{case.get('name')}: {reason.strip()}")
        else:
            counts["passed"] += 1
    for line in refused:
        print(f"not allowed to skip: {line}")
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if refused or counts["failed"] or not counts["passed"] else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="pytest's --junitxml file")
    parser.add_argument("--allow", action="append", default=[], help="a text that an allowed skip reason contains")
    args = parser.parse_args(argv)
    return audit(args.report, args.allow)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
