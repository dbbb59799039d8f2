#!/usr/bin/env python3
"""`kcbackup audit --format sarif|junit|markdown` read by real consumers (ctest unit.ci_formats).

For both examples of examples/ and a generated 200-item audit:
- SARIF is validated against the official SARIF 2.1.0 JSON schema (tests/sarif/, draft-04, with
  Debian's python3-jsonschema), then checked against the JSON report of the same run: one rule per
  expectation and warning kind, each result's ruleId/ruleIndex naming its rule, levels
  error/warning/note, one error per violation and one result per warning, each located at its
  item (the file, and items[i] with the item's name); each result's region (line and column, in
  code points) is where its item starts in the file, checked by decoding the JSON value found
  there, or by expat for the XML plist (both examples, the plist, and the 200 items indented or
  on one line after a BOM and CR LF).
- JUnit is read by Debian's python3-junitparser: one test case per item and expectation (and one
  for an item's warnings), failures exactly where the JSON report has violations, each carrying
  the verdict and the rule ids.
- Markdown of the 200-item audit stays under GitHub's 65,536-character limit.

Usage: ci_formats_check.py KCBACKUP SOURCE_DIR WORK_DIR. Prints what failed; exit 1 if anything.
"""

import json
import re
import subprocess
import sys
import xml.parsers.expat
from pathlib import Path

import jsonschema
import junitparser

ACCESSIBLE = ["WhenUnlocked", "AfterFirstUnlock", "Always", "WhenUnlockedThisDeviceOnly",
              "AfterFirstUnlockThisDeviceOnly", "AlwaysThisDeviceOnly",
              "WhenPasscodeSetThisDeviceOnly"]
CLASSES = ["genp", "inet", "cert", "keys"]
FORMS = ["local:other-device", "local-encrypted:other-device", "icloud-backup:other-device",
         "quick-start:other-device", "icloud-keychain:other-device", "local-encrypted:same-device"]
GITHUB_LIMIT = 65536

failures = []


def fail(what):
    failures.append(what)
    print("FAIL:", what)


def two_hundred_items():
    """200 items over every class, accessibility, sync and expectation shape, with pairs and
    names of every length up to the 256-byte cap: a large app's audit, deterministic."""
    items = []
    for i in range(200):
        item = {"name": f"item-{i:03d}-" + ("ключ-" * (i % 7)) + ("x" * (i % 5) * 40),
                "class": CLASSES[i % 4], "accessible": ACCESSIBLE[i % 7],
                "synchronizable": i % 3 == 0 and i % 4 != 3}
        item["name"] = item["name"][:120]
        shape = i % 5
        if shape == 0:
            item["expect"] = {"survives": [FORMS[i % len(FORMS)]]}
        elif shape == 1:
            item["expect"] = {"never_leaves_device": True}
        elif shape == 2:
            item["expect"] = {"survives": [FORMS[(i + 1) % len(FORMS)], FORMS[(i + 3) % len(FORMS)]]}
        elif shape == 3:
            item["expect"] = {"never_leaves_device": True, "survives": ["local:same-device"]}
        if i % 20 == 1:
            item["pair"] = items[-1]["name"]
        items.append(item)
    return {"icloud_keychain": "on", "items": items}


def run(kcbackup, args):
    return subprocess.run([kcbackup, "audit", *args], capture_output=True, text=True, check=False)


def check_sarif(label, log, report, schema, uri):
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    for e in errors[:5]:
        fail(f"{label}: SARIF schema: {'/'.join(map(str, e.absolute_path))}: {e.message}")
    if errors:
        return
    run0 = log["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    if len(set(ids)) != len(ids):
        fail(f"{label}: SARIF rule ids repeat: {ids}")
    for kind in ("survives", "never-leaves-device"):
        if kind not in ids:
            fail(f"{label}: SARIF has no rule for expectation kind {kind}")
    results = run0["results"]
    wanted = []
    for index, item in enumerate(report["items"]):
        for v in item["violations"]:
            wanted.append((v["kind"], "error", index))
        for w in item["warnings"]:
            wanted.append((w["kind"], None, index))
    if len(results) != len(wanted):
        fail(f"{label}: {len(results)} SARIF results for {len(wanted)} violations and warnings")
        return
    for n, (result, (kind, level, index)) in enumerate(zip(results, wanted)):
        where = f"{label}: results[{n}]"
        if result["ruleId"] != kind:
            fail(f"{where}: ruleId {result['ruleId']}, the JSON report says {kind}")
        if ids[result["ruleIndex"]] != result["ruleId"]:
            fail(f"{where}: ruleIndex {result['ruleIndex']} is not rule {result['ruleId']}")
        rule_level = rules[result["ruleIndex"]]["defaultConfiguration"]["level"]
        if result["level"] not in ("error", "warning", "note") or result["level"] != rule_level:
            fail(f"{where}: level {result['level']}, its rule's is {rule_level}")
        if level and result["level"] != level:
            fail(f"{where}: a violation at level {result['level']}")
        if level is None and result["level"] == "error":
            fail(f"{where}: a warning at level error")
        loc = result["locations"][0]
        logical = loc["logicalLocations"][0]
        if logical["fullyQualifiedName"] != f"items[{index}]" or \
                logical["name"] != report["items"][index]["name"]:
            fail(f"{where}: located at {logical}, not items[{index}]")
        if loc["physicalLocation"]["artifactLocation"]["uri"] != uri:
            fail(f"{where}: artifact {loc['physicalLocation']['artifactLocation']}, not {uri}")


def text_offset(text, line, column):
    """The code-point offset of SARIF's line and column (both from 1; lines end at LF, CR LF or
    CR; columns in code points, as run.columnKind says)."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    return starts[line - 1] + column - 1


def xml_item_starts(data):
    """(line, column) of each <dict> directly inside the top-level "items" <array>, read by expat
    (columns from 1; the example files are ASCII, where expat's byte columns are code points)."""
    parser = xml.parsers.expat.ParserCreate()
    stack, starts, last_key, text = [], [], [], []

    def start(name, _attrs):
        if name == "dict" and len(stack) == 3 and stack[-1] == ("array", "items"):
            starts.append((parser.CurrentLineNumber, parser.CurrentColumnNumber + 1))
        key = last_key[-1] if last_key and stack and stack[-1][0] == "dict" else None
        stack.append((name, key))
        text.clear()

    def end(name):
        stack.pop()
        if name == "key":
            last_key.append("".join(text))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    parser.Parse(data, True)
    return starts


def check_regions(label, log, path):
    """Each result's region is where its item starts in the file: for JSON, the object decoded at
    that line and column is the item itself; for an XML plist, expat finds that item's <dict>
    there."""
    raw = Path(path).read_bytes()
    is_xml = raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    text = raw.decode("utf-8-sig")
    items = None if is_xml else json.loads(text)["items"]
    starts = xml_item_starts(raw) if is_xml else None
    if log["runs"][0].get("columnKind") != "unicodeCodePoints":
        fail(f"{label}: run.columnKind is {log['runs'][0].get('columnKind')}")
    for n, result in enumerate(log["runs"][0]["results"]):
        loc = result["locations"][0]
        index = int(loc["logicalLocations"][0]["fullyQualifiedName"][len("items["):-1])
        region = loc["physicalLocation"].get("region")
        if region is None:
            fail(f"{label}: results[{n}] has no region")
            continue
        line, column = region["startLine"], region["startColumn"]
        if is_xml:
            if starts[index] != (line, column):
                fail(f"{label}: results[{n}] at {line}:{column}, items[{index}] starts at "
                     f"{starts[index][0]}:{starts[index][1]}")
            continue
        try:
            found, _ = json.JSONDecoder().raw_decode(text, text_offset(text, line, column))
        except (ValueError, IndexError) as e:
            fail(f"{label}: results[{n}] at {line}:{column}: no JSON value there ({e})")
            continue
        if found != items[index]:
            fail(f"{label}: results[{n}] at {line}:{column} is not items[{index}]")


def check_junit(label, path, report):
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = [xml] if isinstance(xml, junitparser.TestSuite) else list(xml)
    cases = [case for suite in suites for case in suite]
    wanted = {}
    for item in report["items"]:
        for form in item["expect"]["survives"]:
            journey, target = form.split(":")
            failed = [v for v in item["violations"] if v["kind"] == "survives"
                      and v["journey"] == journey and v["target"] == target]
            wanted[(item["name"], f"survives {form}")] = failed
        if item["expect"]["never_leaves_device"]:
            wanted[(item["name"], "never-leaves-device")] = [
                v for v in item["violations"] if v["kind"] == "never-leaves-device"]
        if item["warnings"]:
            wanted[(item["name"], "warnings")] = []
    got = {(c.classname, c.name): c for c in cases}
    if len(got) != len(cases) or set(got) != set(wanted):
        fail(f"{label}: JUnit cases {sorted(set(got) ^ set(wanted))[:4]} differ from the JSON "
             f"report ({len(cases)} cases, {len(wanted)} wanted)")
        return
    for key, violations in wanted.items():
        results = [r for r in got[key].result if isinstance(r, junitparser.Failure)]
        if bool(results) != bool(violations):
            fail(f"{label}: JUnit case {key}: failed={bool(results)}, violations={len(violations)}")
            continue
        for r in results:
            if r.type != violations[0]["kind"]:
                fail(f"{label}: JUnit case {key}: failure type {r.type}")
            for v in violations:
                rules = " ".join(v["rules"]) or "-"
                if f"rule ids: {rules}" not in (r.text or "") or v["outcome"] not in (r.text or ""):
                    fail(f"{label}: JUnit case {key}: failure text lacks verdict/rules {rules}")
    total_failures = sum(1 for c in cases for r in c.result if isinstance(r, junitparser.Failure))
    for suite in suites:
        if int(suite.tests) != len(cases) or int(suite.failures) != total_failures:
            fail(f"{label}: JUnit suite counts tests={suite.tests} failures={suite.failures}, "
                 f"cases say {len(cases)} and {total_failures}")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    kcbackup, source, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    schema = json.loads((source / "tests/sarif/sarif-schema-2.1.0.json").read_text())
    big = work / "audit-200-items.json"
    big.write_text(json.dumps(two_hundred_items(), ensure_ascii=False, indent=1))
    # The same 200 items on one line, with CR LF, and after a BOM: columns in code points
    # (Cyrillic names come before most items), and the BOM not counted.
    one_line = work / "audit-200-items-one-line.json"
    one_line.write_bytes(b"\xef\xbb\xbf\r\n" +
                         json.dumps(two_hundred_items(), ensure_ascii=False).encode())
    cases = [("banking", str(source / "examples/audit-banking-app.json"), ["--wrapper", "keychainaccess"]),
             ("banking-plist", str(source / "examples/audit-banking-app.plist"), ["--wrapper", "keychainaccess"]),
             ("password-manager", str(source / "examples/audit-password-manager.json"), []),
             ("200-items", str(big), []),
             ("200-items-one-line", str(one_line), [])]
    for label, path, extra in cases:
        report_run = run(kcbackup, [path, *extra, "--format", "json"])
        if report_run.returncode not in (0, 1):
            fail(f"{label}: json exit {report_run.returncode}: {report_run.stderr}")
            continue
        report = json.loads(report_run.stdout)
        for fmt in ("sarif", "junit", "markdown"):
            out = run(kcbackup, [path, *extra, "--format", fmt])
            if out.returncode != report_run.returncode:
                fail(f"{label}: {fmt} exit {out.returncode}, json exit {report_run.returncode}")
            (work / f"{label}.{fmt}").write_text(out.stdout)
            if fmt == "sarif":
                check_sarif(label, json.loads(out.stdout), report, schema, path)
                check_regions(label, json.loads(out.stdout), path)
            elif fmt == "junit":
                check_junit(label, work / f"{label}.{fmt}", report)
            elif len(out.stdout) >= GITHUB_LIMIT:
                fail(f"{label}: markdown is {len(out.stdout)} characters, GitHub takes {GITHUB_LIMIT}")
        print(f"{label}: {len(report['items'])} items, {report['violation_count']} violations, "
              f"{report['warning_count']} warnings checked in sarif, junit, markdown")
    print(f"ci_formats_check: {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
