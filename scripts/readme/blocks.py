"""Prints README's runnable shell blocks as one script, for scripts/readme/run.sh.

A block is runnable when the line just before its ```sh fence is exactly

    <!-- readme-test: run -->

The script keeps README's line numbers: line N of the script is line N of README.md when that
line is inside a runnable block, and blank otherwise, so a failure can name the README line.
`localhost:8080` becomes `localhost:PORT`, so the test can use a free port; any other `:8080`
left in a runnable block is an error (it would reach whatever else listens there). Every `curl`
in a runnable block must fail on an HTTP error (`--fail-with-body` or `--fail`), so a 4xx or 5xx
stops the run.

    python3 blocks.py README.md PORT > script.sh
"""

import re
import sys

MARKER = "<!-- readme-test: run -->"
CURL = re.compile(r"(^|[\s|;&(`$])curl\s")


def fail(message: str) -> None:
    sys.exit(f"readme: FAIL: {message}")


def runnable(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) 0-based line ranges of the bodies of the marked blocks."""
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != MARKER:
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1].rstrip() != "```sh":
            fail(f"README.md line {i + 1}: {MARKER} must be followed directly by a ```sh fence")
        end = i + 2
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end >= len(lines):
            fail(f"README.md line {i + 2}: the ```sh block never closes")
        found.append((i + 2, end))
        i = end + 1
    return found


def check_curls(lines: list[str], first: int, end: int) -> None:
    """Every curl command (continuation lines joined) carries --fail-with-body or --fail."""
    command, starts_at = "", first
    for n in range(first, end):
        if not command:
            starts_at = n
        command += lines[n]
        if command.endswith("\\"):
            command = command[:-1] + " "
            continue
        code = command.strip()
        if not code.startswith("#") and CURL.search(code) and "--fail" not in code:
            fail(f"README.md line {starts_at + 1}: curl without --fail-with-body: {code}")
        command = ""


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: blocks.py README.md PORT")
    path, port = sys.argv[1], sys.argv[2]
    if not port.isdigit():
        fail(f"PORT must be a number, got {port!r}")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks = runnable(lines)
    if not blocks:
        fail(f"no block in {path} is marked {MARKER}")
    out = [""] * len(lines)
    for first, end in blocks:
        check_curls(lines, first, end)
        for n in range(first, end):
            line = lines[n].replace("localhost:8080", f"localhost:{port}")
            if ":8080" in line:
                fail(f"README.md line {n + 1} names port 8080 other than as localhost:8080")
            out[n] = line
    print("\n".join(out))
    print(
        f"readme: {len(blocks)} runnable blocks, README.md lines "
        + ", ".join(f"{first + 1}-{end}" for first, end in blocks),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
