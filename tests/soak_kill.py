#!/usr/bin/python3
"""kill -9 soak (issue #15, docs/reliability.md): kcbackup processes killed at random points.

Each round picks an operation (device add, delete, passcode off, erase, restore, backup), runs it
once to completion on a copy of a prepared device folder (the new state), then again on another
copy, killed with SIGKILL after a random delay within the time the full run took. Afterwards the
killed copy, listed by a new process (whose open finishes an interrupted change), must hold the old
state or the new one; a backup folder must restore as the complete backup or be refused.

A kill -9 loses no written data (the page cache survives the process): this is the process-crash
half of the model; power loss is tests/fault_test.cc's crash runs.

usage: soak_kill.py KCBACKUP ROUNDS [SEED]   (SEED: random when absent; always printed)
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

KCB = sys.argv[1]
ROUNDS = int(sys.argv[2])
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else random.SystemRandom().randrange(1 << 32)
print(f"soak_kill: seed {SEED}, {ROUNDS} rounds (re-run: soak_kill.py KCBACKUP {ROUNDS} {SEED})",
      flush=True)
rng = random.Random(SEED)


def kcb(*args, check=True):
    p = subprocess.run([KCB, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"FAIL (seed {SEED}): kcbackup {' '.join(args)}: exit {p.returncode}\n"
                         f"{p.stderr}")
    return p


def state(dev):
    """What a user sees: every item with its secret, the settings (passcode), the app files."""
    doc = json.loads(kcb("device", "list", dev, "--show-secrets", "--format", "json").stdout)
    doc.pop("version", None)
    doc.pop("device", None)
    files = json.loads(kcb("device", "files", dev, "--format", "json").stdout)
    files.pop("version", None)
    files.pop("device", None)
    return json.dumps(doc, sort_keys=True), json.dumps(files, sort_keys=True)


def prepare(root):
    """The old state: a device with a passcode, items (one akpu), an app file; and a backup of
    another device to restore."""
    dev = os.path.join(root, "template")
    kcb("device", "init", dev, "--seed", "1")
    for acct, acc in (("a", "AfterFirstUnlock"), ("b", "WhenUnlocked"),
                      ("c", "WhenPasscodeSetThisDeviceOnly")):
        kcb("device", "add", dev, "--account", acct, "--service", "soak", "-a", acc,
            "--secret", "secret-" + acct, "--seed", "2")
    app = os.path.join(root, "app.bin")
    with open(app, "wb") as f:
        f.write(b"app file")
    kcb("device", "put", dev, app, "--domain", "AppDomain-com.example.soak", "--path",
        "Documents/x")
    other = os.path.join(root, "other")
    kcb("device", "init", other, "--seed", "3")
    for acct in ("x", "y", "a"):
        kcb("device", "add", other, "--account", acct, "--service", "soak", "-a",
            "AfterFirstUnlock", "--secret", "other-" + acct, "--seed", "4")
    backup = os.path.join(root, "backup")
    kcb("backup", other, backup, "-j", "local-encrypted", "--password", "pw", "--fast-kdf",
        "--seed", "5")
    return dev, backup


def operations(backup):
    return {
        "add": lambda d: ["device", "add", d, "--account", "new", "--service", "soak",
                          "--secret", "s", "--seed", "7"],
        "delete": lambda d: ["device", "delete", d, "--account", "b", "--service", "soak"],
        "passcode-off": lambda d: ["device", "passcode", d, "off", "--seed", "7"],
        "erase": lambda d: ["device", "erase", d, "--seed", "7"],
        "restore": lambda d: ["restore", backup, d, "--password", "pw", "--seed", "7"],
        "backup": lambda d: ["backup", d, d + ".out", "-j", "local-encrypted", "--password",
                             "pw", "--fast-kdf", "--seed", "7"],
    }


def timed(args):
    start = time.monotonic()
    kcb(*args)
    return time.monotonic() - start


def killed(args, delay):
    p = subprocess.Popen([KCB, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    return p.wait()


def check_backup(out, complete, root):
    """A backup folder restores as the complete one, or is refused (not finished, missing)."""
    if not os.path.exists(out):
        return
    target = os.path.join(root, "restore-check")
    shutil.rmtree(target, ignore_errors=True)
    kcb("device", "init", target, "--seed", "9")
    got = kcb("restore", out, target, "--password", "pw", "--seed", "8", check=False)
    if got.returncode == 0:
        if state(target) != complete:
            raise SystemExit(f"FAIL (seed {SEED}): a backup that restores, but not the whole one")
    elif os.path.exists(os.path.join(out, "Status.plist")) and \
            os.path.getsize(os.path.join(out, "Status.plist")) > 0:
        raise SystemExit(f"FAIL (seed {SEED}): a Status.plist, yet refused: {got.stderr}")


def main():
    root = tempfile.mkdtemp(prefix="kcb-soak-")
    try:
        template, backup = prepare(root)
        ops = operations(backup)
        old = state(template)
        new_states, durations, complete = {}, {}, None
        for name, make in ops.items():
            dev = os.path.join(root, "ref-" + name)
            shutil.copytree(template, dev)
            durations[name] = timed(make(dev))
            new_states[name] = state(dev)
            if name == "backup":
                target = os.path.join(root, "ref-restored")
                kcb("device", "init", target, "--seed", "9")
                kcb("restore", dev + ".out", target, "--password", "pw", "--seed", "8")
                complete = state(target)
        counts = {"old": 0, "new": 0}
        for i in range(ROUNDS):
            name = rng.choice(sorted(ops))
            delay = rng.uniform(0, durations[name])
            dev = os.path.join(root, "run")
            shutil.rmtree(dev, ignore_errors=True)
            shutil.rmtree(dev + ".out", ignore_errors=True)
            shutil.copytree(template, dev)
            rc = killed(ops[name](dev), delay)
            now = state(dev)
            if now == old and name != "backup":
                counts["old"] += 1
            elif now == new_states[name]:
                counts["new"] += 1
            else:
                raise SystemExit(f"FAIL (seed {SEED}): round {i}, {name} killed after "
                                 f"{delay * 1000:.1f} ms (exit {rc}): neither old nor new state\n"
                                 f"found {now}\nold {old}\nnew {new_states[name]}")
            if name == "backup":
                check_backup(dev + ".out", complete, root)
        print(f"soak_kill: {ROUNDS} rounds passed (old state {counts['old']}, new or unchanged "
              f"{counts['new']}); seed {SEED}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


main()
