#!/usr/bin/env bash
# Every command whose standard output cannot be written (> /dev/full) exits 4 (I/O error) with
# exactly one line on stderr (issue #15: table, predict and device list used to exit 0).
# Usage: write_error_check.sh KCBACKUP
set -u
kcbackup=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$kcbackup" device init "$work/phone" --seed 1 >/dev/null || exit 1
"$kcbackup" device add "$work/phone" --account a --service s --secret x --seed 2 >/dev/null || exit 1
"$kcbackup" backup "$work/phone" "$work/b" --journey local --fast-kdf --seed 3 >/dev/null || exit 1
failures=0
check() {
  "$kcbackup" "$@" >/dev/full 2>"$work/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$work/err")
  if [[ $rc -ne 4 || $lines -ne 1 ]]; then
    echo "FAIL: kcbackup $* > /dev/full: exit $rc, $lines stderr line(s):" >&2
    cat "$work/err" >&2
    failures=$((failures + 1))
  fi
}
check table
check table --format json
check predict --accessible AfterFirstUnlock --journey local-encrypted --target other-device
check rules
check device list "$work/phone"
check device list "$work/phone" --format json
# The backup folder's parts (the folder is unencrypted: its keychain blob is the plist) and the
# folder commands (issue 13); unlock is left out: its warning on stderr is a second line by design.
check inspect keybag "$work/b/Manifest.plist"
check inspect archive "$work/b/51/51a4616e576dd33cd2abadfea874eb8ff246bf0e"
check inspect backup "$work/b" --device "$work/phone"
check inspect backup "$work/b" --files --format json
check device files "$work/phone"
check extract "$work/b" --domain KeychainDomain --path keychain-backup.plist -o "$work/kc.plist"
check demo
check --help
exit $((failures > 0))
