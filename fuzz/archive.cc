// Fuzz target archive: the same bytes as keychain-backup.plist and as Manifest.plist
// (engine/archive.h; binary or XML plists through libplist). Whatever a reader accepts must survive
// a write and a read back unchanged, and writing is then a fixed point.
#include <cstddef>
#include <cstdint>

#include "engine/archive.h"

namespace {

bool same_items(const kcb::KeychainArchive& a, const kcb::KeychainArchive& b) {
  for (size_t c = 0; c < a.items.size(); ++c) {
    if (a.items[c].size() != b.items[c].size()) return false;
    for (size_t i = 0; i < a.items[c].size(); ++i) {
      if (a.items[c][i].blob != b.items[c][i].blob) return false;
      if (a.items[c][i].persistent_ref != b.items[c][i].persistent_ref) return false;
    }
  }
  return a.keybag_uuid == b.keybag_uuid;
}

bool same_manifest(const kcb::Manifest& a, const kcb::Manifest& b) {
  return a.backup_keybag == b.backup_keybag && a.is_encrypted == b.is_encrypted &&
         a.unique_device_id == b.unique_device_id && a.journey == b.journey;
}

void check_archive(kcb::ByteView input) {
  auto archive = kcb::read_keychain_archive(input);
  if (!archive.ok()) return;
  const kcb::Bytes written = kcb::write_keychain_archive(*archive);
  auto reread = kcb::read_keychain_archive(written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(same_items(*archive, *reread));
  KCB_ASSERT(reread->warnings.empty());
  KCB_ASSERT(kcb::write_keychain_archive(*reread) == written);
}

void check_manifest(kcb::ByteView input) {
  auto manifest = kcb::read_manifest(input);
  if (!manifest.ok()) return;
  const kcb::Bytes written = kcb::write_manifest(*manifest);
  auto reread = kcb::read_manifest(written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(same_manifest(*manifest, *reread));
  KCB_ASSERT(kcb::write_manifest(*reread) == written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);
  check_archive(input);
  check_manifest(input);
  return 0;
}
