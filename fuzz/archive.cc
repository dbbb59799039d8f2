// Fuzz target archive: the same bytes as keychain-backup.plist and as Manifest.plist
// (engine/archive.h; binary or XML plists through libplist). Whatever a reader accepts must survive
// a write and a read back unchanged, and writing is then a fixed point.
#include <cstddef>
#include <cstdint>

#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"

namespace {

void check_archive(kcb::ByteView input) {
  auto archive = kcb::read_keychain_archive(input);
  if (!archive.ok()) return;
  const kcb::Bytes written = kcb::write_keychain_archive(*archive);
  auto reread = kcb::read_keychain_archive(written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(archive->items == reread->items && archive->keybag_uuid == reread->keybag_uuid);
  KCB_ASSERT(reread->warnings.empty());
  KCB_ASSERT(kcb::write_keychain_archive(*reread) == written);
}

void check_manifest(kcb::ByteView input) {
  auto manifest = kcb::read_manifest(input);
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
