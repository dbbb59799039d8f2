// Not public: the keychain archive reader's other path, for tests and the archive fuzz target.
#pragma once

#include "kcbackup/archive.h"

namespace kcb {

// read_keychain_archive through libplist's tree whatever the form (a binary archive is otherwise
// read in place). Where libplist parses a binary archive, both must give the same archive, or
// refuse it alike: the archive fuzz target and tests/archive_test check it.
Result<KeychainArchive> read_keychain_archive_through_libplist(ByteView bytes,
                                                               const ArchiveLimits& limits = {});

}  // namespace kcb
