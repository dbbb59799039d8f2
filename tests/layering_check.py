#!/usr/bin/env python3
"""The dependency rules of docs/architecture.md, checked on every #include of the tree.

- A library folder includes only the libraries below it (model < oracle, engine, input < audit,
  harness < render < cli); oracle/ and engine/ never include each other.
- properties/, fuzz/, bench/ and tests/ use the libraries, never each other's headers.
- Public headers (include/kcbackup/) include only each other and the standard library.

Usage: layering_check.py SOURCE_DIR. Prints every violation as FILE:LINE: message; exit 1 if any.
Standard library only.
"""

import re
import sys
from pathlib import Path

# Which library each public header belongs to. A new public header must be added here: the check
# refuses a header it cannot place.
PUBLIC_OWNER = {
    "status.h": "model", "model.h": "model", "names.h": "model",
    "oracle.h": "oracle", "rules.h": "oracle", "world.h": "oracle",
    "bytes.h": "model", "utf8.h": "model",
    "random.h": "engine", "env.h": "engine", "der.h": "engine",
    "item.h": "engine", "device.h": "engine", "backup.h": "engine", "archive.h": "engine",
    "backup_folder.h": "engine", "backup_keys.h": "engine",
    "kdf.h": "engine", "inspection.h": "engine", "seed_experiment.h": "engine",
    "persistent_ref.h": "engine",
    "audit.h": "audit", "audit_render.h": "audit",
    "scenario.h": "harness", "lockstep.h": "harness", "journey.h": "harness",
    "seed_table.h": "harness",
    "backup_report.h": "harness",  # cli13 (issue 13)
    "render.h": "render", "device_render.h": "render", "backup_render.h": "render",
    "inspect_render.h": "render",
}

LIBRARIES = ["model", "oracle", "engine", "input", "audit", "harness", "render"]
# What each folder may include (besides itself and the standard library).
ALLOWED = {
    "model": {"model"},
    "oracle": {"model"},
    "engine": {"model", "input"},  # input/property_list.h: the bounded libplist layer
    "input": {"model"},
    "audit": {"model", "oracle", "input"},
    "harness": {"model", "oracle", "engine", "input"},
    # The commands' reports: what the oracle, engine and harness answer, in audit's JSON and tables.
    "render": {"model", "oracle", "engine", "input", "audit", "harness"},
    "cli": set(LIBRARIES),
    "properties": set(LIBRARIES),
    "fuzz": set(LIBRARIES),
    "bench": set(LIBRARIES),
    "tests": set(LIBRARIES) | {"cli"},
}
SYSTEM_ONLY_PRIVATE = ("plist/", "nlohmann/", "CLI/", "openssl/", "sqlite3.h", "gtest/",
                       "rapidcheck", "benchmark/", "fuzzer/")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def owner_of(include: str, problems: list, where: str):
    """The folder an include belongs to, or None for the standard library and packages."""
    if include.startswith("kcbackup/"):
        name = include[len("kcbackup/"):]
        if name not in PUBLIC_OWNER:
            problems.append(f"{where}: public header kcbackup/{name} has no owner in "
                            "tests/layering_check.py PUBLIC_OWNER")
            return None
        return PUBLIC_OWNER[name]
    head = include.split("/", 1)[0]
    return head if head in ALLOWED else None


def check_file(root: Path, path: Path, folder: str, problems: list):
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        quote, include = m.groups()
        where = f"{path.relative_to(root)}:{number}"
        if folder == "include":
            if quote == '"' and not include.startswith("kcbackup/"):
                problems.append(f"{where}: public header includes private \"{include}\"")
            elif include.startswith(SYSTEM_ONLY_PRIVATE):
                problems.append(f"{where}: public header includes <{include}>: a consumer would "
                                "need that package")
            continue
        if quote != '"':
            continue
        target = owner_of(include, problems, where)
        if target is None or target == folder:
            continue
        if target not in ALLOWED[folder]:
            problems.append(f"{where}: {folder}/ must not include {include} ({target}/)")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(sys.argv[1]).resolve()
    problems: list = []
    checked = 0
    for folder in list(ALLOWED) + ["include"]:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in (".h", ".cc", ".cpp") and "build" not in path.parts:
                check_file(root, path, folder, problems)
                checked += 1
    for p in problems:
        print(p)
    print(f"layering_check: {checked} files, {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
