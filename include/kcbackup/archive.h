// The files of a backup bundle, modeled on a Finder backup (formats.md):
//   BUNDLE/Manifest.plist                       binary plist: BackupKeyBag, IsEncrypted,
//                                               Lockdown.UniqueDeviceID, Journey
//   BUNDLE/KeychainDomain/keychain-backup.plist binary plist: genp/inet/cert/keys arrays of
//                                               {v_Data, v_PersistentRef}, keybag-uuid
// Readers validate structure only (types, sizes, counts, UUID text); the item blobs and the keybag
// are parsed by their own modules. Real backups also encrypt every file with a per-file key and
// keep a Manifest.db: that layer is out of scope (docs/formats.md).
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/env.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb {

struct ArchivedItem {
  Bytes blob;            // v_Data: a v3 item blob
  Bytes persistent_ref;  // v_PersistentRef: 4-byte class name + 8-byte big-endian rowid

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

struct Manifest {
  Bytes backup_keybag;  // BackupKeyBag
  bool is_encrypted = false;
  std::string unique_device_id;  // Lockdown.UniqueDeviceID of the source device
  std::string journey;           // our own key: local, local-encrypted, icloud-backup, quick-start

  bool operator==(const Manifest&) const = default;
};

Bytes write_manifest(const Manifest& manifest);
Result<Manifest> read_manifest(ByteView bytes);

// Persistent refs: the class's 4-letter name and the row id, big-endian.
Bytes make_persistent_ref(ItemClass item_class, int64_t rowid);
// The inverse, for an item of `item_class`'s array: Corruption when the ref is not 12 bytes, names
// another class, or holds a row id past INT64_MAX. The restore does not need it (rows get fresh ids
// on the target); inspection reports it.
Result<int64_t> rowid_of_persistent_ref(ByteView ref, ItemClass item_class);

// "0123ABCD-..." from 16 bytes, and back (any case accepted, canonical form required otherwise).
std::string uuid_text(ByteView uuid16);
Result<Bytes> parse_uuid_text(std::string_view text);

struct Bundle {
  Manifest manifest;
  KeychainArchive archive;
};

inline constexpr const char* kManifestFile = "Manifest.plist";
inline constexpr const char* kKeychainFile = "KeychainDomain/keychain-backup.plist";

// Writes the bundle directory through `env` (creating it; refusing to overwrite a non-empty one).
// Each file goes through write_file_atomically, the Manifest last, so a crash never leaves a
// half-written bundle file.
Status write_bundle(Env& env, const std::filesystem::path& dir, const Bundle& bundle);
Result<Bundle> read_bundle(Env& env, const std::filesystem::path& dir,
                           const ArchiveLimits& limits = {});

}  // namespace kcb
