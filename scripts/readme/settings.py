"""The documentation names the settings the binary has, with the same defaults and meanings.

Reads `listo --help` on stdin (its "Environment" list is read from `Config` in src/config.rs) and checks:
- the table under "## Configuration" in docs/DEPLOY.md lists exactly those variables, in the same
  order, with the same default and meaning (backticks aside);
- every `LISTO_*` name in README.md and docs/*.md is one of them, or one the scripts and tests
  read (SCRIPT_VARIABLES below).

    listo --help | python3 settings.py REPO_ROOT
"""

import pathlib
import re
import sys

SCRIPT_VARIABLES = {
    "LISTO_BIN",
    "LISTO_TEST_POSTGRES",
    "LISTO_TEST_SEED",
    "LISTO_TEST_LITESTREAM",
    "LISTO_TEST_S3",
}


def fail(message: str) -> None:
    sys.exit(f"readme: FAIL: {message}")


def from_help(text: str) -> list[tuple[str, str, str]]:
    rows, listing = [], False
    for line in text.splitlines():
        if line.startswith("Environment"):
            listing = True
            continue
        if not listing or not line.strip():
            continue
        m = re.match(r"\s+(\S+)\s+(.*) \[default: (.*)\]$", line)
        if not m:
            fail(f"cannot read this line of listo --help: {line!r}")
        name, meaning, default = m.groups()
        rows.append((name, default, meaning))
    if not rows:
        fail("listo --help lists no environment variables")
    return rows


def from_table(path: pathlib.Path) -> list[tuple[str, str, str]]:
    rows, section = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line.strip() == "## Configuration"
            continue
        if not section or not line.startswith("| `"):
            continue
        cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            fail(f"{path.name}: a configuration row without 3 cells: {line}")
        rows.append(tuple(cells))
    if not rows:
        fail(f"{path.name} has no table under '## Configuration'")
    return rows


def main() -> None:
    root = pathlib.Path(sys.argv[1])
    code = from_help(sys.stdin.read())
    deploy = root / "docs" / "DEPLOY.md"
    documented = from_table(deploy)
    if documented != code:
        names = [r[0] for r in code]
        for row in documented:
            if row[0] not in names:
                print(f"  {row[0]}: documented, but listo has no such setting", file=sys.stderr)
        for row in code:
            match = [d for d in documented if d[0] == row[0]]
            if not match:
                print(f"  {row[0]}: missing from the table", file=sys.stderr)
            elif match[0] != row:
                print(f"  {row[0]}: listo --help says default {row[1]!r}, meaning {row[2]!r}", file=sys.stderr)
                print(f"  {' ' * len(row[0])}  the table says default {match[0][1]!r}, meaning {match[0][2]!r}", file=sys.stderr)
        if [d[0] for d in documented] != names and sorted(d[0] for d in documented) == sorted(names):
            print("  the rows are in a different order than listo --help", file=sys.stderr)
        fail("docs/DEPLOY.md's configuration table differs from listo --help (Config in src/config.rs)")
    known = {r[0] for r in code} | SCRIPT_VARIABLES
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"\bLISTO_[A-Z0-9_]+", line):
                if name not in known:
                    fail(f"{doc.relative_to(root)} line {n} names {name}, which listo does not read")
    print(f"readme: docs/DEPLOY.md lists the {len(code)} settings of listo --help", file=sys.stderr)


if __name__ == "__main__":
    main()
