#!/usr/bin/env python3
"""Interop checks between kcbackup and tests/interop/reference.py (an independent Python
implementation of shared/design/formats.md). One check per ctest entry (label `interop`):

  selftest        reference.py's known-answer tests (GCM with any IV, RFC 3394, DER order)
  keybag-fast     a Python keybag (WRAP 1, 2, 3; small counts) unlocks in `kcbackup inspect`

The backup-folder checks (both directions, real counts) are in run_folder_interop.py, which also
uses this file's context, item sets and listings.

Usage: run_interop.py CHECK --kcbackup BIN --reference reference.py --work DIR
Exit 0 pass, 1 fail.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

UID_A = "a1" * 32
UID_B = "b2" * 32
PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3"
FAST = ["--iter", "10", "--dpic", "10"]
TDO_PDMN = {"aku", "cku", "dku", "akpu"}  # ThisDeviceOnly: classes 9-12


class CheckFailed(Exception):
    pass


class Ctx:
    def __init__(self, args):
        self.kcbackup = args.kcbackup
        self.reference = args.reference
        self.work = args.work
        self.python = sys.executable

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def run(self, cmd, expect_rc=0):
        started = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        took = time.monotonic() - started
        shown = " ".join(cmd[:4]) + (" ..." if len(cmd) > 4 else "")
        print("  [%5.2fs] rc=%d  %s" % (took, p.returncode, shown))
        if p.returncode != expect_rc:
            raise CheckFailed("%s\n  exited %d, expected %d\n  stdout: %s\n  stderr: %s"
                              % (" ".join(cmd), p.returncode, expect_rc, p.stdout[-2000:],
                                 p.stderr[-2000:]))
        return p

    def run_parallel(self, commands):
        """[(cmd, expect_rc)] run at once; their stdouts in order."""
        started = time.monotonic()
        procs = [(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True), cmd, rc) for cmd, rc in commands]
        outs, failures = [], []
        for proc, cmd, rc in procs:
            out, err = proc.communicate()
            print("  [%5.2fs] rc=%d  %s ... (parallel)" % (time.monotonic() - started,
                                                       proc.returncode, " ".join(cmd[:4])))
            if proc.returncode != rc:
                failures.append("%s\n  exited %d, expected %d\n  stdout: %s\n  stderr: %s"
                                % (" ".join(cmd), proc.returncode, rc, out[-2000:], err[-2000:]))
            outs.append(out)
        if failures:
            raise CheckFailed("\n".join(failures))
        return outs

    def kcb(self, *args, expect_rc=0):
        p = self.run([self.kcbackup, *args], expect_rc)
        return json.loads(p.stdout) if expect_rc == 0 and "--format" in args else p

    def ref(self, *args, expect_rc=0):
        p = self.run([self.python, self.reference, *args], expect_rc)
        return json.loads(p.stdout) if expect_rc == 0 else p

    def device(self, name, uid_hex):
        return self.kcb("device", "init", self.path(name), "--uid-hex", uid_hex, "--format",
                        "json")


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def json_text(value):
    """kcbackup prints a string as itself and non-UTF-8 bytes as 0x<hex>."""
    if isinstance(value, dict) and "data_hex" in value:
        raw = bytes.fromhex(value["data_hex"])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + raw.hex()
    return value if value is not None else ""


# ---------------------------------------------------------------------------------------------


def check_selftest(ctx):
    out = ctx.ref("self-test")
    expect(out["self_test"] == "passed", "reference self-test: %s" % out)


def keys_by_class(inspect_json):
    return {c["class"]: c for c in inspect_json["classes"]}


def check_keybag_fast(ctx):
    ctx.device("devA", UID_A)
    ctx.device("devB", UID_B)
    bag = ctx.path("python.keybag")
    # File class 1 behind the device key only (WRAP 1), the keychain classes as an encrypted
    # backup wraps them (WRAP 2 for 6-8, WRAP 3 for 9-12).
    classes = "1:1,6:2,7:2,8:2,9:3,10:3,11:3,12:3"
    made = ctx.ref("make-keybag", bag, "--password", PASSWORD, "--uid-hex", UID_A, "--classes",
                   classes, *FAST)
    want = {c["class"]: c for c in made["classes"]}

    right = keys_by_class(ctx.kcb("inspect", "keybag", bag, "--password", PASSWORD, "--device",
                                  ctx.path("devA"), "--show-secrets", "--format", "json"))
    expect(set(right) == set(want), "classes %s, expected %s" % (sorted(right), sorted(want)))
    for n, c in want.items():
        expect(right[n]["unlocked"], "class %d not unlocked with the right device" % n)
        expect(right[n]["wrap"] == c["wrap"], "class %d: wrap %s" % (n, right[n]["wrap"]))
        expect(right[n]["key_hex"] == c["key_hex"],
               "class %d: kcbackup key %s, Python wrote %s" % (n, right[n]["key_hex"],
                                                              c["key_hex"]))

    other = keys_by_class(ctx.kcb("inspect", "keybag", bag, "--password", PASSWORD, "--device",
                                  ctx.path("devB"), "--show-secrets", "--format", "json"))
    for n, c in want.items():
        # The CBC layer has no integrity check: another device "unlocks" a wrong key.
        expect(other[n]["unlocked"], "class %d: other device should unlock (a wrong key)" % n)
        same = other[n]["key_hex"] == c["key_hex"]
        expect(same == (c["wrap"] == 2),
               "class %d (WRAP %d): key %s the right one on the other device"
               % (n, c["wrap"], "is" if same else "is not"))

    nodev = keys_by_class(ctx.kcb("inspect", "keybag", bag, "--password", PASSWORD,
                                  "--show-secrets", "--format", "json"))
    for n, c in want.items():
        expect(nodev[n]["unlocked"] == (c["wrap"] == 2),
               "class %d (WRAP %d) without --device: unlocked=%s"
               % (n, c["wrap"], nodev[n]["unlocked"]))

    ctx.kcb("inspect", "keybag", bag, "--password", WRONG, "--device", ctx.path("devA"),
            "--format", "json", expect_rc=3)
    # A bag from before iOS 10.2 has no DPWT/DPIC/DPSL: then k1 is the password itself.
    old_bag = ctx.path("python-no-dp.keybag")
    made = ctx.ref("make-keybag", old_bag, "--password", PASSWORD, "--uid-hex", UID_A,
                   "--classes", "6:2,9:3", "--iter", "10", "--dpic", "0")
    got = keys_by_class(ctx.kcb("inspect", "keybag", old_bag, "--password", PASSWORD, "--device",
                                ctx.path("devA"), "--show-secrets", "--format", "json"))
    for c in made["classes"]:
        expect(got[c["class"]].get("key_hex") == c["key_hex"],
               "no double protection, class %d: %s" % (c["class"], got[c["class"]]))

    # And the reference reads its own bag the same way.
    mine = {c["class"]: c for c in ctx.ref("unlock-keybag", bag, "--password", PASSWORD,
                                            "--uid-hex", UID_A)["classes"]}
    expect(all(mine[n]["key_hex"] == c["key_hex"] for n, c in want.items()),
           "reference does not read its own bag")
    ctx.ref("unlock-keybag", bag, "--password", WRONG, expect_rc=3)


ITEMS = {"items": [
    {"class": "genp", "secret": "ak-secret",
     "attributes": {"acct": "alice", "svce": "mail.example", "agrp": "com.example.mail",
                    "pdmn": "ak", "sync": 0, "labl": "Mail password",
                    "cdat": {"date": "2023-05-06T07:08:09.120Z"},
                    "mdat": {"date": "2024-01-02T03:04:05.000Z"}, "desc": "unknown attribute",
                    "UUID": "1C2D3E4F-0000-4000-8000-000000000001", "invi": True}},
    {"class": "genp", "secret_hex": "00ff10e2",
     "attributes": {"acct": {"data_hex": "ff00ab"}, "svce": {"data_hex": "7376632d64617461"},
                    "pdmn": "ck", "agrp": "com.example.bin"}},
    {"class": "genp", "secret": "dk-secret", "attributes": {"pdmn": "dk", "acct": "dora",
                                                           "svce": "always"}},
    {"class": "genp", "secret": "aku-secret",
     "attributes": {"acct": "bob", "svce": "bank.example", "agrp": "com.example.bank",
                    "pdmn": "aku", "sync": 0}},
    {"class": "genp", "secret": "cku-secret", "attributes": {"acct": "carol", "svce": "vpn",
                                                            "pdmn": "cku"}},
    {"class": "inet", "secret": "inet-dku",
     "attributes": {"acct": "dave", "srvr": "ftp.example", "ptcl": 1718906228, "port": 21,
                    "path": "/pub", "pdmn": "dku", "agrp": "com.example.ftp"}},
    {"class": "inet", "secret": "inet-ak",
     "attributes": {"acct": "erin", "srvr": "www.example", "ptcl": 1752462448, "port": 443,
                    "pdmn": "ak", "agrp": "com.example.web", "sync": 0}},
]}


def expected_listing(items):
    """What `device list --format json` should show for these items on the restored device."""
    out = []
    for item in items:
        a = item["attributes"]
        secret = item.get("secret_hex") or item["secret"].encode().hex()
        out.append({"class": item["class"], "account": json_text(a.get("acct", "")),
                    "service": json_text(a.get("svce", "")), "access_group": a.get("agrp", ""),
                    "accessible": a["pdmn"], "synchronizable": bool(a.get("sync", 0)),
                    "secret_hex": secret})
    return sorted(out, key=json.dumps)


def listing(ctx, dev):
    doc = ctx.kcb("device", "list", ctx.path(dev), "--show-secrets", "--format", "json")
    keep = ("class", "account", "service", "access_group", "accessible", "synchronizable",
            "secret_hex")
    return sorted(({k: i[k] for k in keep} for i in doc["items"]), key=json.dumps)


def compare(got, want, what):
    if got != want:
        raise CheckFailed("%s differ:\n  got  %s\n  want %s" % (what, json.dumps(got, indent=1),
                                                               json.dumps(want, indent=1)))


def written_pdmn(items, fate):
    """The pdmn of the item a restore fate is about (a lost item cannot say it itself)."""
    of_class = [i for i in items if i["class"] == fate["class"]]
    return of_class[fate["index"]]["attributes"]["pdmn"]


def check_restore_fates(report, items, what):
    expect(len(report["items"]) == len(items), "%s: %d fates for %d items"
           % (what, len(report["items"]), len(items)))
    for fate in report["items"]:
        tdo = written_pdmn(items, fate) in TDO_PDMN
        expect((fate["outcome"] == "lost") == tdo, "%s: %s" % (what, fate))
        if tdo:
            expect(fate["reason"] not in ("", "corrupt"), "%s: reason %s" % (what, fate))


DEVICE_ITEMS = [
    ("genp", "alice", "mail.example", "WhenUnlocked", [], "secret-ak"),
    ("genp", "bob", "bank.example", "WhenUnlockedThisDeviceOnly", [], "secret-aku"),
    ("genp", "carol", "vpn", "AfterFirstUnlock", [], "secret-ck"),
    ("genp", "carol", "vpn-tdo", "AfterFirstUnlockThisDeviceOnly", [], "secret-cku"),
    ("genp", "dora", "always", "Always", [], "secret-dk"),
    ("inet", "dave", "ftp.example", "AlwaysThisDeviceOnly", [], "secret-dku"),
    ("genp", "erin", "synced", "WhenUnlocked", ["--synchronizable"], "secret-sync"),
    ("genp", "frank", "passcode", "WhenPasscodeSetThisDeviceOnly", [], "secret-akpu"),
    ("genp", "grace", "faceid", "WhenUnlocked", ["--auth-constraint"], "secret-auth"),
]


def reference_listing(read):
    out = []
    for i in read["items"]:
        if i["outcome"] != "opened":
            continue
        a = i["attributes"]
        out.append({"class": i["class"], "account": json_text(a.get("acct", "")),
                    "service": json_text(a.get("svce", "")), "access_group": a.get("agrp", ""),
                    "accessible": a["pdmn"], "synchronizable": bool(a.get("sync", 0)),
                    "secret_hex": i["secret_hex"]})
    return sorted(out, key=json.dumps)


CHECKS = {"selftest": check_selftest, "keybag-fast": check_keybag_fast}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("check", choices=sorted(CHECKS))
    p.add_argument("--kcbackup", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    ctx = Ctx(args)
    started = time.monotonic()
    try:
        CHECKS[args.check](ctx)
    except CheckFailed as e:
        print("FAIL %s: %s" % (args.check, e))
        return 1
    print("PASS %s (%.1fs)" % (args.check, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
