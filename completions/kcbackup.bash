# bash completion for kcbackup (installed to share/bash-completion/completions/kcbackup).
# Commands and value lists are written here; each command's options are read from the program's
# own `kcbackup COMMAND --help`, so a new option completes without editing this file.
_kcbackup() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local commands="predict table rules demo audit device backup restore migrate inspect extract unlock simulate"
  local journeys="local local-encrypted icloud-backup quick-start icloud-keychain"
  local classes="WhenUnlocked AfterFirstUnlock Always WhenUnlockedThisDeviceOnly AfterFirstUnlockThisDeviceOnly AlwaysThisDeviceOnly WhenPasscodeSetThisDeviceOnly"
  local wrappers="keychainaccess keychain-swift swiftkeychainwrapper samkeychain simplekeychain react-native-keychain flutter_secure_storage expo-secure-store valet"
  local warnings="deprecated sync-never-syncs add-fails passcode-bound pair-splits icloud-keychain-only half-restored"
  case $prev in
    --format) COMPREPLY=($(compgen -W "text json markdown csv sarif junit" -- "$cur")); return ;;
    --journey | -j) COMPREPLY=($(compgen -W "$journeys" -- "$cur")); return ;;
    --target) COMPREPLY=($(compgen -W "same-device other-device" -- "$cur")); return ;;
    --accessible | -a) COMPREPLY=($(compgen -W "$classes" -- "$cur")); return ;;
    --class) COMPREPLY=($(compgen -W "genp inet cert keys" -- "$cur")); return ;;
    --wrapper) COMPREPLY=($(compgen -W "$wrappers" -- "$cur")); return ;;
    --fail-on) COMPREPLY=($(compgen -W "violation warning" -- "$cur")); return ;;
    --ignore) COMPREPLY=($(compgen -W "$warnings" -- "$cur")); return ;;
    --icloud-keychain | --passcode) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
    --token) COMPREPLY=($(compgen -W "none secure-enclave" -- "$cur")); return ;;
  esac
  local words=() i
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ ${COMP_WORDS[i]} == -* ]] || words+=("${COMP_WORDS[i]}")
  done
  if [ ${#words[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  if [ ${#words[@]} -eq 1 ] && [[ $cur != -* ]]; then
    case ${words[0]} in
      device) COMPREPLY=($(compgen -W "init add update delete list passcode erase set put files" -- "$cur")); return ;;
      inspect) COMPREPLY=($(compgen -W "keybag blob archive backup" -- "$cur")); return ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    local options
    options=$("${COMP_WORDS[0]}" "${words[@]:0:2}" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _kcbackup -o filenames kcbackup
