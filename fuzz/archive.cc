// Fuzz target archive: the same bytes as keychain-backup.plist, as Manifest.plist and as
// Status.plist (kcbackup/archive.h, kcbackup/backup_folder.h; XML plists through libplist, binary
// ones in place). Whatever a reader accepts must survive a write and a read back unchanged, and
// writing is then a fixed point; the two readers of a binary document must agree.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/archive_internal.h"
#include "fuzz/both_readings.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"

namespace {

// A binary archive is read in place (BinaryPlist) and, for the comparison, through libplist's tree:
// wherever libplist parses the document the two agree, archive or error message alike. Where
// libplist refuses it, the in-place reader may accept (it does not refuse objects it never reads).
void check_both_readers_agree(kcb::ByteView input,
                              const kcb::Result<kcb::KeychainArchive>& archive) {
  auto tree = kcb::read_keychain_archive_through_libplist(input);
  if (!tree.ok() && tree.status().message().find("not a property list") != std::string::npos) {
    return;
  }
  KCB_ASSERT(archive.ok() == tree.ok());
  if (!tree.ok()) return;
  KCB_ASSERT(archive->items == tree->items && archive->keybag_uuid == tree->keybag_uuid &&
             archive->warnings.size() == tree->warnings.size());
  // A UTF-16 key with a lone surrogate is "(not UTF-8)" in place; libplist pairs it with whatever
  // follows. Every other warning reads the same.
  for (size_t i = 0; i < archive->warnings.size(); ++i) {
    KCB_ASSERT(archive->warnings[i] == tree->warnings[i] ||
               archive->warnings[i].find("(not UTF-8)") != std::string::npos);
  }
}

void check_archive(kcb::ByteView input) {
  auto archive = kcb::read_keychain_archive(input);
  check_both_readers_agree(input, archive);
  if (!archive.ok()) return;
  const kcb::Bytes written = kcb::write_keychain_archive(*archive);
  auto reread = kcb::read_keychain_archive(written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(archive->items == reread->items && archive->keybag_uuid == reread->keybag_uuid);
  KCB_ASSERT(reread->warnings.empty());
  KCB_ASSERT(kcb::write_keychain_archive(*reread) == written);
}

// Manifest.plist and Status.plist are read the same two ways, and must agree the same way
// (fuzz/both_readings.h).
void check_manifest(kcb::ByteView input) {
  auto manifest = kcb::read_manifest(input);
  kcb::fuzz::check_both_readings_agree(manifest, kcb::read_manifest_through_libplist(input));
  kcb::fuzz::check_both_readings_agree(kcb::read_backup_status(input),
                                       kcb::read_backup_status_through_libplist(input));
  if (!manifest.ok()) return;
  const kcb::Bytes written = kcb::write_manifest(*manifest);
  auto reread = kcb::read_manifest(written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(*manifest == *reread);
  KCB_ASSERT(kcb::write_manifest(*reread) == written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);
  check_archive(input);
  check_manifest(input);
  return 0;
}
