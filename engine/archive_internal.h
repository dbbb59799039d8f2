// Not public: the other path of the plist readers that read a binary document in place (the
// keychain archive, Manifest.plist, Status.plist), for tests and the archive fuzz target.
#pragma once

#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"

namespace kcb {

// read_keychain_archive through libplist's tree whatever the form (a binary archive is otherwise
// read in place). Where libplist parses a binary archive, both must give the same archive, or
// refuse it alike: the archive fuzz target and tests/archive_test check it.
Result<KeychainArchive> read_keychain_archive_through_libplist(ByteView bytes,
                                                               const ArchiveLimits& limits = {});

// read_manifest and read_backup_status through libplist's tree whatever the form, under the same
// contract.
Result<Manifest> read_manifest_through_libplist(ByteView bytes);
Result<BackupStatus> read_backup_status_through_libplist(ByteView bytes);

}  // namespace kcb
