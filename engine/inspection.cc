// Facts about keybags, blobs and archives for `kcbackup inspect` (kcbackup/inspection.h).
#include "kcbackup/inspection.h"

#include <algorithm>
#include <iterator>

#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/backup.h"
#include "kcbackup/names.h"
#include "kcbackup/persistent_ref.h"

namespace kcb {
namespace {

static_assert(kMaxInspectedBlobBytes == kMaxBlobSize);

// A bag whose whole KDF is this cheap is tried with the empty password when none is given: that
// is how the bag of an unencrypted backup is written.
inline constexpr uint64_t kCheapKdfRounds = 1000;

std::string_view keybag_type_name(uint32_t type) {
  switch (static_cast<KeybagType>(type)) {
    case KeybagType::kSystem:
      return "system";
    case KeybagType::kBackup:
      return "backup";
    case KeybagType::kEscrow:
      return "escrow";
    case KeybagType::kOta:
      return "ota";
  }
  return "unknown";
}

std::string wrap_name(uint32_t wrap) {
  switch (wrap) {
    case kWrapDevice:
      return "device";
    case kWrapPassword:
      return "password";
    case kWrapDevice | kWrapPassword:
      return "device+password";
    default:
      return std::to_string(wrap);
  }
}

// KTYP: absent or 0 is AES (the class key wraps item keys); 1 is a Curve25519 (asymmetric class).
std::string key_type_name(uint32_t key_type) {
  switch (key_type) {
    case 0:
      return "AES";
    case 1:
      return "Curve25519";
    default:
      return std::to_string(key_type);
  }
}

std::vector<std::string> unknown_header_tags(const Keybag& bag) {
  static constexpr std::string_view kKnown[] = {"VERS", "TYPE", "UUID", "HMCK", "WRAP",
                                                "SALT", "ITER", "DPWT", "DPIC", "DPSL"};
  std::vector<std::string> out;
  for (const KeybagRecord& r : bag.header_records) {
    if (std::find(std::begin(kKnown), std::end(kKnown), r.tag) == std::end(kKnown)) {
      out.push_back(r.tag);
    }
  }
  return out;
}

KeybagHeaderFacts header_facts(const Keybag& bag, size_t bytes) {
  KeybagHeaderFacts h;
  h.bytes = bytes;
  h.version = bag.version;
  h.type = bag.type();
  h.type_field = bag.type_field;
  h.type_name = keybag_type_name(bag.type());
  h.uuid = bag.uuid.size() == 16 ? uuid_text(bag.uuid) : to_hex(bag.uuid);
  h.wrap = bag.wrap;
  h.salt = bag.salt;
  h.iterations = bag.iterations;
  h.double_protection = bag.double_protection;
  h.dp_wrap_type = bag.dp_wrap_type;
  h.dp_iterations = bag.dp_iterations;
  h.dp_salt = bag.dp_salt;
  h.hmac_key_bytes = bag.hmac_key.size();
  h.unknown_tags = unknown_header_tags(bag);
  return h;
}

bool needs_password(const Keybag& bag) {
  return std::any_of(bag.classes.begin(), bag.classes.end(),
                     [](const KeybagClass& c) { return (c.wrap & kWrapPassword) != 0; });
}

bool has_cheap_kdf(const Keybag& bag) {
  return uint64_t{bag.iterations} + (bag.double_protection ? bag.dp_iterations : 0) <=
         kCheapKdfRounds;
}

// The classes that need no password, unlocked with the device key if there is one.
Result<UnlockedKeybag> unlock_without_password(const Keybag& bag, const Device* device) {
  Keybag device_only = bag;
  std::erase_if(device_only.classes,
                [](const KeybagClass& c) { return (c.wrap & kWrapPassword) != 0; });
  return unlock_keybag_with_password_key_for(device_only, {}, device);
}

}  // namespace

bool looks_like_property_list(ByteView bytes) {
  auto starts = [&](std::string_view prefix) {
    return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
  };
  return starts("bplist") || starts("<?xml") || starts("<plist") || starts("\xEF\xBB\xBF<?xml");
}

std::string_view password_use_name(PasswordUse use) {
  switch (use) {
    case PasswordUse::kNotNeeded:
      return "not-needed";
    case PasswordUse::kGiven:
      return "given";
    case PasswordUse::kEmpty:
      return "empty";
    case PasswordUse::kNone:
      return "none";
  }
  return "?";
}

struct InspectedKeybag::State {
  Keybag bag;
  UnlockedKeybag keys;
};

InspectedKeybag::InspectedKeybag(std::unique_ptr<State> state) : state_(std::move(state)) {}
InspectedKeybag::InspectedKeybag(InspectedKeybag&&) noexcept = default;
InspectedKeybag& InspectedKeybag::operator=(InspectedKeybag&&) noexcept = default;
InspectedKeybag::~InspectedKeybag() = default;

Result<InspectedKeybag> InspectedKeybag::parse(ByteView bytes) {
  KCB_ASSIGN_OR_RETURN(Keybag bag, parse_keybag(bytes));
  InspectedKeybag out(std::make_unique<State>(State{std::move(bag), {}}));
  out.header_ = header_facts(out.state_->bag, bytes.size());
  return out;
}

Status InspectedKeybag::unlock(const KeybagKeySources& sources) {
  const Keybag& bag = state_->bag;
  // The device's key 0x835 stays inside the unlock functions (kcbackup/backup.h).
  const Device* device = sources.device.get();
  used_device_key_ = device != nullptr;
  if (!needs_password(bag)) {
    password_use_ = PasswordUse::kNotNeeded;
    KCB_ASSIGN_OR_RETURN(state_->keys, unlock_keybag_for(bag, {}, device));
    return Status::Ok();
  }
  if (sources.password_key) {
    password_use_ = PasswordUse::kGiven;
    KCB_ASSIGN_OR_RETURN(state_->keys, unlock_keybag_with_password_key_for(
                                           bag, sources.password_key->view(), device));
    return Status::Ok();
  }
  std::optional<SecretBytes> password;
  if (sources.encrypted == false) {
    password = SecretBytes();  // an unencrypted backup's bag uses the empty password
  } else {
    KCB_ASSIGN_OR_RETURN(password, sources.password(false));
    if (!password && !sources.encrypted && has_cheap_kdf(bag)) {
      auto keys = unlock_keybag_for(bag, {}, device);
      if (keys.ok()) {
        state_->keys = std::move(*keys);
        password_use_ = PasswordUse::kEmpty;
        return Status::Ok();
      }
    }
    if (!password) {
      KCB_ASSIGN_OR_RETURN(password, sources.password(true));
    }
  }
  if (!password) {
    password_use_ = PasswordUse::kNone;
    KCB_ASSIGN_OR_RETURN(state_->keys, unlock_without_password(bag, device));
    return Status::Ok();
  }
  password_use_ = password->empty() ? PasswordUse::kEmpty : PasswordUse::kGiven;
  KCB_ASSIGN_OR_RETURN(SecretBytes password_key, derive_password_key(bag, password->view()));
  KCB_ASSIGN_OR_RETURN(state_->keys,
                       unlock_keybag_with_password_key_for(bag, password_key.view(), device));
  return Status::Ok();
}

std::vector<ClassUnlock> InspectedKeybag::classes() const {
  std::vector<ClassUnlock> out;
  for (const KeybagClass& c : state_->bag.classes) {
    ClassUnlock u;
    u.class_number = c.class_number;
    u.accessible = accessibility_from_key_class(c.class_number);
    u.wrap = c.wrap;
    u.wrap_name = wrap_name(c.wrap);
    u.key_type = c.key_type;
    u.key_type_name = key_type_name(c.key_type);
    if (const SecretBytes* key = state_->keys.key_for(c.class_number)) {
      u.key = *key;
      u.device_layer_unchecked = (c.wrap & kWrapDevice) != 0;
    } else if ((c.wrap & kWrapPassword) && password_use_ == PasswordUse::kNone) {
      u.locked_reason = "needs the password";
    } else if ((c.wrap & kWrapDevice) && !used_device_key_) {
      u.locked_reason = "needs --device";
    } else {
      u.locked_reason = "not unlocked";
    }
    out.push_back(std::move(u));
  }
  return out;
}

bool InspectedKeybag::matches(const KeychainArchive& archive) const {
  return state_->bag.uuid.size() == 16 && uuid_text(state_->bag.uuid) == archive.keybag_uuid;
}

std::string_view entry_status_name(EntryStatus status) {
  switch (status) {
    case EntryStatus::kSealed:
      return "sealed";
    case EntryStatus::kMalformed:
      return "malformed";
    case EntryStatus::kLocked:
      return "locked";
    case EntryStatus::kDoesNotOpen:
      return "does-not-open";
    case EntryStatus::kDecoded:
      return "decoded";
  }
  return "?";
}

namespace {

ArchiveEntry entry_of(ItemClass c, size_t index, const ArchivedItem& a,
                      const UnlockedKeybag* keys) {
  ArchiveEntry e;
  e.item_class = c;
  e.index = index;
  if (auto ref = parse_persistent_ref(a.persistent_ref, c); ref.ok()) {
    if (ref->kind == PersistentRefKind::kRowid) e.rowid = ref->rowid;
    if (ref->kind == PersistentRefKind::kUuid) e.uuid = ref->uuid;
  }
  e.blob_bytes = a.blob.size();
  auto parsed = parse_blob(a.blob);
  if (!parsed.ok()) {
    e.status = EntryStatus::kMalformed;
    e.error = parsed.status().message();
    return e;
  }
  e.key_class = parsed->key_class;
  if (keys == nullptr) return e;
  const SecretBytes* class_key = keys->key_for(parsed->key_class);
  if (class_key == nullptr) {
    e.status = EntryStatus::kLocked;
    return e;
  }
  auto plaintext = open_blob(*parsed, class_key->view());
  if (!plaintext.ok()) {
    // DataLoss: the item key did not unwrap (a wrong class key, e.g. another device's layer);
    // anything else means the key is right and the bytes were altered.
    e.status = plaintext.status().code() == Code::kDataLoss ? EntryStatus::kDoesNotOpen
                                                            : EntryStatus::kMalformed;
    e.error = plaintext.status().message();
    return e;
  }
  auto item = Item::decode(c, plaintext->view());
  if (!item.ok()) {
    e.status = EntryStatus::kMalformed;
    e.error = item.status().message();
    return e;
  }
  e.status = EntryStatus::kDecoded;
  e.item = std::move(*item);
  return e;
}

}  // namespace

std::vector<ArchiveEntry> archive_entries(const KeychainArchive& archive,
                                          const InspectedKeybag* keys) {
  const UnlockedKeybag* unlocked = keys ? &keys->state_->keys : nullptr;
  std::vector<ArchiveEntry> out;
  for (ItemClass c : kAllItemClasses) {
    const auto& items = archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < items.size(); ++i)
      out.push_back(entry_of(c, i, items[i], unlocked));
  }
  return out;
}

std::vector<std::string> archive_warnings(const KeychainArchive& archive) {
  std::vector<std::string> warnings = archive.warnings;
  for (ItemClass c : kAllItemClasses) {
    const auto& items = archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < items.size(); ++i) {
      auto ref = parse_persistent_ref(items[i].persistent_ref, c);
      if (!ref.ok()) {
        warnings.push_back(std::string(name_of(c)) + "[" + std::to_string(i) +
                           "]: " + ref.status().message());
      }
    }
  }
  return warnings;
}

Result<BlobFacts> blob_facts(ByteView blob) {
  KCB_ASSIGN_OR_RETURN(ParsedBlob parsed, parse_blob(blob));
  BlobFacts f;
  f.version = kBlobVersion;
  f.keyclass_field = parsed.keyclass_field;
  f.key_class = parsed.key_class;
  f.accessible = accessibility_from_key_class(parsed.key_class);
  f.wrapped_key_bytes = parsed.wrapped_key.size();
  f.ciphertext_bytes = parsed.ciphertext.size();
  f.tag_bytes = parsed.tag.size();
  f.total_bytes = blob.size();
  return f;
}

Result<DerDict> open_blob_attributes(ByteView blob, ByteView class_key) {
  KCB_ASSIGN_OR_RETURN(ParsedBlob parsed, parse_blob(blob));
  auto plaintext = open_blob(parsed, class_key);
  if (!plaintext.ok()) {
    const bool wrong_key = plaintext.status().code() == Code::kDataLoss;
    return plaintext.status().with_context(
        wrong_key ? "the class key does not open this blob"
                  : "the class key opens the item key, but the item is altered");
  }
  auto decoded = decode_der_dictionary(plaintext->view());
  if (!decoded.ok()) return decoded.status().with_context("attribute dictionary");
  return decoded;
}

std::vector<std::string> attribute_warnings(const DerDict& dict, uint32_t key_class) {
  std::vector<std::string> out;
  for (const DerEntry& e : dict.entries()) {
    if (e.key == attr::kValueData) continue;
    const Status st = check_item_attribute(e.key, e.value);
    if (!st.ok()) out.push_back(st.message());
  }
  if (const DerValue* pdmn = dict.find(attr::kAccessible); pdmn && pdmn->as_string()) {
    const auto a = accessibility_from_pdmn(*pdmn->as_string());
    if (a && names_of(*a).key_class != key_class) {
      out.push_back("pdmn '" + std::string(names_of(*a).pdmn) + "' does not match key class " +
                    std::to_string(key_class));
    }
  }
  if (!dict.contains(attr::kValueData)) out.push_back("no v_Data");
  return out;
}

}  // namespace kcb
