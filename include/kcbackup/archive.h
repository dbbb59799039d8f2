// The keychain file of a backup folder (KeychainDomain/keychain-backup.plist; the folder around it
// is kcbackup/backup_folder.h): a binary plist of genp/inet/cert/keys arrays of
// {v_Data, v_PersistentRef} and keybag-uuid, as Apple's SecServerCopyKeychainPlist writes it.
// The reader validates structure only (types, sizes, counts, UUID text); the item blobs are
// parsed by their own module.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/persistent_ref.h"  // what v_PersistentRef holds
#include "kcbackup/status.h"

namespace kcb {

struct ArchivedItem {
  Bytes blob;            // v_Data: a v3 item blob
  Bytes persistent_ref;  // v_PersistentRef: old-style or UUID-based (persistent_ref.h)

  bool operator==(const ArchivedItem&) const = default;
};

struct KeychainArchive {
  // Indexed by ItemClass: genp, inet, cert, keys.
  std::array<std::vector<ArchivedItem>, 4> items;
  // 8-4-4-4-12 text; empty when the file has none (R14: older backups; then not compared).
  std::string keybag_uuid;
  // R14, what was ignored: unknown top-level keys (the first few named, the rest counted), a class
  // whose value is neither an array nor a dictionary.
  std::vector<std::string> warnings;
};

struct ArchiveLimits {
  size_t max_items = 5'000'000;
  size_t max_blob_bytes = 16 << 20;
};

Bytes write_keychain_archive(const KeychainArchive& archive);
// R14: a class's value is an array of item dictionaries or one item dictionary; an `idnt` class or
// an item that is not a dictionary is Corruption. Linear in the file's size.
Result<KeychainArchive> read_keychain_archive(ByteView bytes, const ArchiveLimits& limits = {});

// "0123ABCD-..." from 16 bytes, and back (any case accepted, canonical form required otherwise).
std::string uuid_text(ByteView uuid16);
Result<Bytes> parse_uuid_text(std::string_view text);

}  // namespace kcb
