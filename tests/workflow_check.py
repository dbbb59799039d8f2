#!/usr/bin/env python3
"""Every workflow (.github/workflows/*.yml) and the composite action (action.yml) parse as YAML
and name only things that exist (ctest unit.workflows, with Debian's python3-yaml).

- Each job has runs-on and steps; each step has exactly one of `uses` and `run`; a composite
  action's `run` steps say their shell.
- `steps.ID` in an expression names a step of the same job (or of the action); `inputs.NAME` in
  the action names one of its inputs; a local action (`uses: ./`) exists and gets only inputs it
  declares, and every input it requires.
- Every repository path a `run` script names (scripts/..., .clusterfuzzlite/..., examples/...,
  tests/...) exists, also behind $GITHUB_ACTION_PATH.
- ci.yml runs the README's test command as the README writes it, on ubuntu-24.04.
- The ClusterFuzzLite workflows use the documented modes (code-change in cflite_pr, batch in
  cflite_batch, prune and coverage in cflite_cron), the language and sanitizers of
  .clusterfuzzlite/project.yaml, and .clusterfuzzlite/ has its Dockerfile and build.sh.
- The workflow examples in docs/audit.md parse, and their steps using this action pass only
  inputs that action.yml declares.

Usage: workflow_check.py SOURCE_DIR. Prints every problem; exit 1 if any.
"""

import re
import sys
from pathlib import Path

import yaml

problems = []
STEP_REF = re.compile(r"steps\.([A-Za-z_][\w-]*)\.")
INPUT_REF = re.compile(r"inputs\.([A-Za-z_][\w-]*)")
REPO_PATH = re.compile(r"(?<![\w/.-])(?:\$GITHUB_ACTION_PATH/|\"\$GITHUB_ACTION_PATH/)?"
                       r"((?:scripts|\.clusterfuzzlite|examples|tests)/[\w./-]+)")
CFLITE_MODES = {"cflite_pr.yml": {"code-change"}, "cflite_batch.yml": {"batch"},
                "cflite_cron.yml": {"prune", "coverage"}}


def problem(where, what):
    problems.append(f"{where}: {what}")


def load(path):
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        problem(path, f"not YAML: {e}")
        return None


def on_of(doc):
    # YAML 1.1 reads the key `on` as the boolean true.
    return doc.get("on", doc.get(True))


def text_of(value):
    return yaml.safe_dump(value) if not isinstance(value, str) else value


def check_paths(root, where, script):
    for m in REPO_PATH.finditer(script):
        path = m.group(1).rstrip(".")
        if not (root / path).exists():
            problem(where, f"names {path}, which does not exist")


def check_steps(root, where, steps, composite=False, inputs=None):
    if not isinstance(steps, list) or not steps:
        problem(where, "no steps")
        return
    ids = {s.get("id") for s in steps if isinstance(s, dict) and s.get("id")}
    for n, step in enumerate(steps):
        at = f"{where}.steps[{n}]"
        if not isinstance(step, dict):
            problem(at, "not a mapping")
            continue
        if ("uses" in step) == ("run" in step):
            problem(at, "needs exactly one of `uses` and `run`")
        if composite and "run" in step and "shell" not in step:
            problem(at, "a composite action's run step needs `shell`")
        for ref in STEP_REF.findall(text_of(step)):
            if ref not in ids:
                problem(at, f"refers to steps.{ref}, which is no step here")
        if inputs is not None:
            for ref in INPUT_REF.findall(text_of(step)):
                if ref not in inputs:
                    problem(at, f"refers to inputs.{ref}, which the action does not declare")
        if "run" in step:
            check_paths(root, at, step["run"])
        uses = step.get("uses", "")
        if isinstance(uses, str) and uses.startswith("./"):
            check_local_action(root, at, uses, step.get("with") or {})


def check_local_action(root, where, uses, given):
    action = root / uses / "action.yml"
    if not action.exists():
        problem(where, f"uses {uses}, which has no action.yml")
        return
    declared = (load(action) or {}).get("inputs") or {}
    for name in given:
        if name not in declared:
            problem(where, f"passes `{name}`, which {uses}action.yml does not declare")
    for name, spec in declared.items():
        if (spec or {}).get("required") and name not in given and "default" not in (spec or {}):
            problem(where, f"does not pass `{name}`, which {uses}action.yml requires")


def check_workflow(root, path):
    doc = load(path)
    if doc is None:
        return None
    where = path.relative_to(root)
    if not doc.get("name"):
        problem(where, "no name")
    if not on_of(doc):
        problem(where, "no `on` trigger")
    jobs = doc.get("jobs") or {}
    if not jobs:
        problem(where, "no jobs")
    for job_name, job in jobs.items():
        if "runs-on" not in job:
            problem(f"{where}.jobs.{job_name}", "no runs-on")
        check_steps(root, f"{where}.jobs.{job_name}", job.get("steps"))
    return doc


def check_action(root):
    path = root / "action.yml"
    doc = load(path)
    if doc is None:
        return
    for key in ("name", "description", "inputs", "runs"):
        if key not in doc:
            problem("action.yml", f"no `{key}`")
    runs = doc.get("runs") or {}
    if runs.get("using") != "composite":
        problem("action.yml", "runs.using is not composite")
    inputs = doc.get("inputs") or {}
    check_steps(root, "action.yml", runs.get("steps"), composite=True, inputs=inputs)
    ids = {s.get("id") for s in runs.get("steps") or [] if isinstance(s, dict)}
    for name, out in (doc.get("outputs") or {}).items():
        for ref in STEP_REF.findall(str(out.get("value", ""))):
            if ref not in ids:
                problem(f"action.yml.outputs.{name}", f"refers to steps.{ref}, no step of the action")
    uploads = [s for s in runs.get("steps") or []
               if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")]
    if not uploads:
        problem("action.yml", "does not upload SARIF (github/codeql-action/upload-sarif)")
    if "--format sarif" not in text_of(runs.get("steps")):
        problem("action.yml", "never runs kcbackup audit --format sarif")


def readme_test_command(root):
    lines = (root / "README.md").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "<!-- test-command -->":
            return lines[i + 1].strip()
    problem("README.md", "no <!-- test-command --> line")
    return None


def check_ci(root, doc):
    command = readme_test_command(root)
    runs = [(job, step) for job in doc.get("jobs", {}).values() for step in job.get("steps", [])
            if isinstance(step, dict) and "run" in step]
    found = [job for job, step in runs if command and step["run"].strip() == command]
    if not found:
        problem("ci.yml", f"no step runs the README's test command `{command}`")
    elif found[0].get("runs-on") != "ubuntu-24.04":
        problem("ci.yml", "the README's test command does not run on ubuntu-24.04")


def check_cflite(root, name, doc):
    project = load(root / ".clusterfuzzlite/project.yaml") or {}
    for f in ("Dockerfile", "build.sh", "project.yaml"):
        if not (root / ".clusterfuzzlite" / f).exists():
            problem(".clusterfuzzlite", f"no {f}")
    sanitizers = set(project.get("sanitizers", [])) | {"coverage"}
    modes = set()
    for job_name, job in doc.get("jobs", {}).items():
        matrix = ((job.get("strategy") or {}).get("matrix") or {}).get("sanitizer", [])
        for s in matrix:
            if s not in sanitizers:
                problem(f"{name}.jobs.{job_name}", f"sanitizer {s} is not in project.yaml")
        for step in job.get("steps", []):
            uses = str(step.get("uses", ""))
            args = step.get("with") or {}
            if uses.startswith("google/clusterfuzzlite/actions/build_fuzzers@"):
                if args.get("language", "c++") != project.get("language"):
                    problem(f"{name}.jobs.{job_name}", "build_fuzzers language is not project.yaml's")
            elif uses.startswith("google/clusterfuzzlite/actions/run_fuzzers@"):
                modes.add(args.get("mode"))
                if not str(args.get("fuzz-seconds", "")).isdigit():
                    problem(f"{name}.jobs.{job_name}", "run_fuzzers has no numeric fuzz-seconds")
            elif "run" not in step:
                problem(f"{name}.jobs.{job_name}", f"unexpected step {uses}")
    if modes != CFLITE_MODES[name]:
        problem(name, f"modes {sorted(m or '' for m in modes)}, documented: {sorted(CFLITE_MODES[name])}")


def check_docs_examples(root):
    text = (root / "docs/audit.md").read_text()
    declared = ((load(root / "action.yml") or {}).get("inputs") or {})
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    using = 0
    for n, block in enumerate(blocks):
        try:
            doc = yaml.safe_load(block)
        except yaml.YAMLError as e:
            problem(f"docs/audit.md yaml block {n}", f"not YAML: {e}")
            continue
        for job in (doc or {}).get("jobs", {}).values():
            for step in job.get("steps", []):
                if re.match(r"[\w.-]+/kcbackup@", str(step.get("uses", ""))):
                    using += 1
                    for name in step.get("with") or {}:
                        if name not in declared:
                            problem("docs/audit.md", f"passes `{name}`, which action.yml lacks")
    if using == 0:
        problem("docs/audit.md", "no workflow example uses the kcbackup action")


# What configure needs that a stock runner lacks (CMakeLists.txt's find_package and
# pkg_check_modules), by the Debian package that provides it.
CONFIGURE_NEEDS = {"OpenSSL": "libssl-dev", "SQLite3": "libsqlite3-dev", "PkgConfig": "pkg-config",
                   "libplist-2.0": "libplist-dev", "nlohmann_json": "nlohmann-json3-dev",
                   "CLI11": "libcli11-dev"}


def check_install_deps_covers_configure(root):
    """#16: "the workflow cannot build: it installs neither libplist-dev, libcli11-dev nor
    nlohmann-json3-dev". Every package configure needs for the program is in both of
    scripts/install-deps's lists (everything, and --program for action.yml), and every
    find_package/pkg_check_modules of the program's configure is one we know a package for."""
    cmake = (root / "CMakeLists.txt").read_text()
    program_part = cmake.split("if(KCB_BUILD_TESTS", 1)[0]
    found = set(re.findall(r"find_package\((\w+)", program_part))
    found |= set(re.findall(r"pkg_check_modules\(\w+ REQUIRED IMPORTED_TARGET ([\w.-]+)\)",
                            program_part))
    for name in sorted(found - set(CONFIGURE_NEEDS)):
        problem("CMakeLists.txt", f"configure needs {name}: add its package to CONFIGURE_NEEDS "
                "and scripts/install-deps")
    script = (root / "scripts/install-deps").read_text()
    lists = re.findall(r"packages=\((.*?)\)", script, re.S)
    if len(lists) != 2:
        problem("scripts/install-deps", f"expected 2 package lists, found {len(lists)}")
        return
    for label, text in zip(("everything", "--program"), lists):
        names = {n for word in text.split() for n in word.strip('"').split("|")}
        for need in sorted(found & set(CONFIGURE_NEEDS)):
            if CONFIGURE_NEEDS[need] not in names:
                problem("scripts/install-deps", f"the {label} list lacks {CONFIGURE_NEEDS[need]} "
                        f"({need}): configure fails on a stock runner")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(sys.argv[1]).resolve()
    workflows = sorted((root / ".github/workflows").glob("*.yml"))
    names = {p.name for p in workflows}
    for wanted in ["ci.yml", *CFLITE_MODES]:
        if wanted not in names:
            problem(".github/workflows", f"no {wanted}")
    for path in workflows:
        doc = check_workflow(root, path)
        if doc is None:
            continue
        if path.name == "ci.yml":
            check_ci(root, doc)
        if path.name in CFLITE_MODES:
            check_cflite(root, path.name, doc)
    check_action(root)
    check_docs_examples(root)
    check_install_deps_covers_configure(root)
    for p in problems:
        print(p)
    print(f"workflow_check: {len(workflows)} workflows and action.yml, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
