// Persistent references: what kSecReturnPersistentRef gives an app, which apps store (in
// UserDefaults, in files) to find an item again later. Two layouts, both Apple's (rules.md R11,
// formats.md), and both start with the item class's 4-letter table name:
//   old-style   12 bytes  class name + the row id, 8 bytes big-endian
//   UUID-based  20 bytes  class name + a 16-byte UUID stored with the row
// A device uses one kind for every item (PersistentRefKind, a device setting); a backup carries
// each item's reference in `v_PersistentRef`, and a restore re-inserts the item with that row id or
// UUID (engine/backup.cc says when it cannot). The bytes are the whole contract: an app compares
// them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

inline constexpr size_t kPersistentRefClassBytes = 4;  // "genp", "inet", "cert", "keys"
inline constexpr size_t kRowidPersistentRefBytes = 12;
inline constexpr size_t kPersistentRefUuidBytes = 16;
inline constexpr size_t kUuidPersistentRefBytes = 20;

// A reference taken apart.
struct PersistentRef {
  ItemClass item_class = ItemClass::kGenp;
  PersistentRefKind kind = PersistentRefKind::kRowid;
  int64_t rowid = 0;  // old-style only
  Bytes uuid;         // UUID-based only: 16 bytes
  bool operator==(const PersistentRef&) const = default;
};

// Old-style: class name + big-endian row id (two's complement: a negative id survives).
Bytes make_persistent_ref(ItemClass item_class, int64_t rowid);
// UUID-based: class name + `uuid`, which must be kPersistentRefUuidBytes long.
Bytes make_uuid_persistent_ref(ItemClass item_class, ByteView uuid);

// Either layout, for an item of `item_class` (the array of the archive it came from). Corruption,
// naming `v_PersistentRef`, when the length is neither 12 nor 20, the class name is another's, or
// an old-style row id is past INT64_MAX.
Result<PersistentRef> parse_persistent_ref(ByteView ref, ItemClass item_class);
// Old-style only: Corruption for any other length ("3 bytes, expected 12") and for what
// parse_persistent_ref refuses.
Result<int64_t> rowid_of_persistent_ref(ByteView ref, ItemClass item_class);

// A fresh UUID for a row of a device that uses UUID references: 16 bytes from `random`, with the
// version (4, random) and variant (RFC 4122) bits set, as NSUUID makes them.
Bytes new_persistent_ref_uuid(Random& random);

}  // namespace kcb
