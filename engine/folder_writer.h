// The writing half of kcbackup/backup_folder.h, for make_backup: a folder's files built in memory
// from the keychain file, the app files and the backup bag that protects them.
#pragma once

#include <vector>

#include "engine/keybag.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/device.h"
#include "kcbackup/random.h"

namespace kcb {

struct FolderContents {
  Manifest manifest;  // BackupKeyBag, ManifestKey and Date are filled in by the writer
  Bytes keychain;     // keychain-backup.plist (write_keychain_archive)
  std::vector<AppFile> app_files;
};

// Encrypted backups (manifest.is_encrypted): every file under a fresh 32-byte key wrapped under
// its protection class's key in `bag`, Manifest.db under a fresh key wrapped under class 4's
// (ManifestKey). Every date is random.now_unix_seconds(). InvalidArgument for an app file whose
// class has no key in the bag, two files with one domain and path, or text that is not UTF-8.
Result<BackupFolder> build_backup_folder(FolderContents contents, const NewKeybag& bag,
                                         Random& random);

// Info.plist (XML, as Finder writes it), `date` in Unix seconds: written directly, and through
// libplist's tree for tests to hold the first to (the same bytes).
Bytes write_info_plist(const LockdownInfo& info, int64_t date);
Bytes write_info_plist_through_libplist(const LockdownInfo& info, int64_t date);

}  // namespace kcb
