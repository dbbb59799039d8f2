#!/usr/bin/env bash
# Every command whose standard output cannot be written (> /dev/full) exits 4 (I/O error) with
# exactly one line on stderr (issue #15: table, predict and device list used to exit 0), including
# a command whose check says no (audit's exit 1: the report it carried is lost, so exit 4 wins).
# Every command and subcommand of `kcbackup --help` is here; the device commands that change a
# folder make their change and still exit 4.
# Usage: write_error_check.sh KCBACKUP
set -u
kcbackup=$1
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
setup() { "$kcbackup" "$@" >/dev/null || { echo "setup failed: kcbackup $*" >&2; exit 1; }; }
setup device init "$work/phone" --seed 1
setup device add "$work/phone" --account a --service s --secret x --seed 2
setup backup "$work/phone" "$work/b" --journey local --fast-kdf --seed 3
echo pw >"$work/pw"
setup backup "$work/phone" "$work/enc" --journey local-encrypted --password-file "$work/pw" \
  --fast-kdf --seed 4
setup device init "$work/target" --seed 5
setup device init "$work/erased" --seed 6
echo notes >"$work/notes.txt"
# The unencrypted folder's keychain file is the plist itself: one of its v_Data blobs.
archive="$work/b/51/51a4616e576dd33cd2abadfea874eb8ff246bf0e"
python3 -c 'import plistlib, sys
open(sys.argv[2], "wb").write(plistlib.load(open(sys.argv[1], "rb"))["genp"][0]["v_Data"])' \
  "$archive" "$work/item.blob" || exit 1
failures=0
# check [--warned] ARGS...: exit 4, one stderr line (--warned: one warning line before it, which
# the command prints by design whatever happens to stdout).
check() {
  local warned=0
  if [[ $1 == --warned ]]; then
    warned=1
    shift
  fi
  "$kcbackup" "$@" >/dev/full 2>"$work/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$work/err")
  local ok=1
  [[ $rc -eq 4 && $lines -eq $((1 + warned)) ]] || ok=0
  [[ $(tail -n 1 "$work/err") == "kcbackup: I/O error: standard output: write failed"* ]] || ok=0
  if [[ $warned -eq 1 && $(head -n 1 "$work/err") != warning:* ]]; then ok=0; fi
  if [[ $ok -ne 1 ]]; then
    echo "FAIL: kcbackup $* > /dev/full: exit $rc, $lines stderr line(s):" >&2
    cat "$work/err" >&2
    failures=$((failures + 1))
  fi
}
# The oracle and the program's own
check table
check table --format json
check table --measured
check predict --accessible AfterFirstUnlock --journey local-encrypted --target other-device
check predict --accessible ak --journey local --target same-device --format json
check rules
check demo
check --help
check --version
check device --help
check inspect --help
# audit: an app whose expectations hold (exit 0) and one whose check says no (exit 1)
check audit "$here/examples/audit-password-manager.json"
check audit "$here/examples/audit-banking-app.json" --format sarif
check audit --backup "$work/b" --access-group kcbackup.example --device "$work/phone"
check simulate "$here/examples/scenario-new-phone.json"
# device: every subcommand
check device init "$work/new" --seed 7
check device add "$work/phone" --account b --service s --secret x --seed 8
check device update "$work/phone" --account b --service s --label L --seed 9
check device delete "$work/phone" --account b --service s
check device list "$work/phone"
check device list "$work/phone" --format json
check device passcode "$work/phone" off
check device passcode "$work/phone" on --seed 10
check device set "$work/phone" --sos on
check device put "$work/phone" "$work/notes.txt" --domain AppDomain-com.example.x --path Documents/n
check device files "$work/phone"
check device erase "$work/erased" --seed 11
# backup, restore, migrate
check backup "$work/phone" "$work/b2" --journey local --fast-kdf --seed 12
check restore "$work/b" "$work/target" --seed 13
check migrate "$work/phone" "$work/target" --fast-kdf --seed 14
# inspect: every subcommand
check inspect keybag "$work/b/Manifest.plist"
check inspect blob "$work/item.blob"
check inspect archive "$archive"
check inspect backup "$work/b" --device "$work/phone"
check inspect backup "$work/b" --files --format json
# the folder commands (issue 13); unlock warns about the key file on stderr by design
check extract "$work/b" --domain KeychainDomain --path keychain-backup.plist -o "$work/kc.plist"
check --warned unlock "$work/enc" --password-file "$work/pw" --key-out "$work/key"
exit $((failures > 0))
