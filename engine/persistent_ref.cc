// Persistent references in both of Apple's layouts; see include/kcbackup/persistent_ref.h.
#include "kcbackup/persistent_ref.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "kcbackup/names.h"

namespace kcb {
namespace {

Status ref_error(const std::string& what) {
  return Status::Corruption("v_PersistentRef: " + what);
}

Bytes class_prefix(ItemClass item_class) {
  const std::string_view name = name_of(item_class);
  KCB_ASSERT(name.size() == kPersistentRefClassBytes);
  return Bytes(name.begin(), name.end());
}

}  // namespace

Bytes make_persistent_ref(ItemClass item_class, int64_t rowid) {
  Bytes ref = class_prefix(item_class);
  append_be(ref, static_cast<uint64_t>(rowid));
  return ref;
}

Bytes make_uuid_persistent_ref(ItemClass item_class, ByteView uuid) {
  KCB_ASSERT(uuid.size() == kPersistentRefUuidBytes);
  Bytes ref = class_prefix(item_class);
  ref.insert(ref.end(), uuid.begin(), uuid.end());
  return ref;
}

Result<PersistentRef> parse_persistent_ref(ByteView ref, ItemClass item_class) {
  if (ref.size() != kRowidPersistentRefBytes && ref.size() != kUuidPersistentRefBytes) {
    return ref_error(std::to_string(ref.size()) + " bytes, expected " +
                     std::to_string(kRowidPersistentRefBytes) + " (old-style) or " +
                     std::to_string(kUuidPersistentRefBytes) + " (UUID)");
  }
  const std::string_view name = name_of(item_class);
  if (!std::equal(name.begin(), name.end(), ref.begin())) {
    return ref_error("names class '" + to_hex(ref.first(kPersistentRefClassBytes)) +
                     "' (hex), expected '" + std::string(name) + "'");
  }
  PersistentRef out;
  out.item_class = item_class;
  const ByteView rest = ref.subspan(kPersistentRefClassBytes);
  if (ref.size() == kUuidPersistentRefBytes) {
    out.kind = PersistentRefKind::kUuid;
    out.uuid.assign(rest.begin(), rest.end());
    return out;
  }
  const uint64_t id = load_be64(rest.data());
  if (id > static_cast<uint64_t>(INT64_MAX)) {
    return ref_error("row id " + std::to_string(id) + " past INT64_MAX");
  }
  out.kind = PersistentRefKind::kRowid;
  out.rowid = static_cast<int64_t>(id);
  return out;
}

Result<int64_t> rowid_of_persistent_ref(ByteView ref, ItemClass item_class) {
  if (ref.size() != kRowidPersistentRefBytes) {
    return ref_error(std::to_string(ref.size()) + " bytes, expected " +
                     std::to_string(kRowidPersistentRefBytes));
  }
  KCB_ASSIGN_OR_RETURN(PersistentRef parsed, parse_persistent_ref(ref, item_class));
  return parsed.rowid;
}

Bytes new_persistent_ref_uuid(Random& random) {
  Bytes uuid(kPersistentRefUuidBytes);
  random.fill(uuid);
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0F) | 0x40);  // version 4: random
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3F) | 0x80);  // variant: RFC 4122
  return uuid;
}

}  // namespace kcb
