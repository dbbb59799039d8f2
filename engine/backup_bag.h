// A backup's keybag opened from its Manifest.plist alone, before anything else of the folder is
// read: the first stage of OpenedBackup::open (engine/backup_folder.cc), and all a restore of a
// keychain archive without its folder needs (restore_keychain_archive, engine/backup.cc).
#pragma once

#include "engine/keybag.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

struct OpenedBackupKeybag {
  Keybag bag;
  SecretBytes password_key;
  UnlockedKeybag keys;
};

// BackupKeyBag parsed and checked against the Manifest (a backup bag, TYPE 1; no keychain class
// wrapped by a password alone when IsEncrypted is false), the password key derived from
// options.password (or options.password_key taken as it is), and the classes unlocked with it and
// options.device's key 0x835. Errors as OpenedBackup::open gives them for these stages:
// Corruption naming Manifest.plist, PermissionDenied for a missing or wrong password.
Result<OpenedBackupKeybag> open_backup_keybag(const Manifest& manifest,
                                              const BackupOpenOptions& options);

}  // namespace kcb
