// What is inside a keybag, an item blob and a keychain archive, as plain facts a reader prints
// (`kcbackup inspect`). Every input may be hostile: the engine's parsers and caps decide (a bag
// asking for 2^31 PBKDF2 rounds is refused before any derivation), and nothing here prints. The
// raw numbers of the formats (TYPE, WRAP, KTYP, class numbers) are named here and nowhere else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/archive.h"
#include "kcbackup/bytes.h"
#include "kcbackup/der.h"
#include "kcbackup/device.h"
#include "kcbackup/item.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb {

// A Manifest.plist (any of the three spellings libplist reads) rather than a bare keybag.
bool looks_like_property_list(ByteView bytes);

struct KeybagHeaderFacts {
  size_t bytes = 0;  // of the whole bag
  uint32_t version = 0;
  uint32_t type = 0;        // TYPE without its flag bits
  uint32_t type_field = 0;  // TYPE as stored
  std::string_view type_name;
  std::string uuid;  // canonical text for 16 bytes, else hex
  uint32_t wrap = 0;
  Bytes salt;
  uint32_t iterations = 0;
  bool double_protection = false;
  uint32_t dp_wrap_type = 0;
  uint32_t dp_iterations = 0;
  Bytes dp_salt;
  size_t hmac_key_bytes = 0;  // wrapped, never verified
  std::vector<std::string> unknown_tags;
};

// Which password opened the bag's password classes.
enum class PasswordUse { kNotNeeded, kGiven, kEmpty, kNone };
std::string_view password_use_name(PasswordUse use);  // "not-needed", "given", "empty", "none"

struct ClassUnlock {
  uint32_t class_number = 0;
  std::optional<Accessibility> accessible;  // nullopt for a number no keychain class has
  uint32_t wrap = 0;
  std::string wrap_name;  // "device", "password", "device+password" or the number
  uint32_t key_type = 0;
  std::string key_type_name;  // "AES", "Curve25519" or the number
  std::optional<SecretBytes> key;
  // Unlocked through the device layer, which has no integrity check: with another device's key
  // this is a wrong key, and only the items show it (does-not-open).
  bool device_layer_unchecked = false;
  std::string locked_reason;  // "" when unlocked; "needs the password", "needs --device" ...
};

// What the user has for opening a bag.
struct KeybagKeySources {
  std::optional<bool> encrypted;  // the Manifest's IsEncrypted; nullopt for a bare keybag
  // The device whose key 0x835 opens the device layer (WRAP & 1): the key never leaves the engine.
  std::shared_ptr<const Device> device;
  // The password from what the user gave; with `may_ask` also by asking them. nullopt: none.
  std::function<Result<std::optional<SecretBytes>>(bool may_ask)> password;
  // The derived password key (`kcbackup unlock --key-out`), instead of the password: the KDF does
  // not run. A wrong one is PermissionDenied as a wrong password is.
  std::optional<SecretBytes> password_key;
};

enum class EntryStatus { kSealed, kMalformed, kLocked, kDoesNotOpen, kDecoded };
// "sealed", "malformed", "locked", "does-not-open", "decoded"
std::string_view entry_status_name(EntryStatus status);

// One archived item as far as its bytes and the available keys go.
struct ArchiveEntry {
  ItemClass item_class = ItemClass::kGenp;
  size_t index = 0;
  std::optional<int64_t> rowid;  // from an old-style v_PersistentRef, when it decodes
  Bytes uuid;                    // from a UUID-based one (16 bytes), when it decodes
  size_t blob_bytes = 0;
  std::optional<uint32_t> key_class;  // from the blob header, when it parses
  EntryStatus status = EntryStatus::kSealed;
  std::string error;
  std::optional<Item> item;  // decoded
};
// A parsed keybag and the class keys the key sources opened.
class InspectedKeybag {
 public:
  // parse_keybag's Corruption / Unsupported / ResourceExhausted.
  static Result<InspectedKeybag> parse(ByteView bytes);
  InspectedKeybag(InspectedKeybag&&) noexcept;
  InspectedKeybag& operator=(InspectedKeybag&&) noexcept;
  ~InspectedKeybag();

  const KeybagHeaderFacts& header() const { return header_; }
  // An unencrypted backup's bag opens with the empty password, as does a bare bag whose KDF is
  // cheap when no password is given; an explicit wrong password is PermissionDenied; no password
  // at all leaves the password classes locked.
  Status unlock(const KeybagKeySources& sources);
  PasswordUse password_use() const { return password_use_; }
  bool used_device_key() const { return used_device_key_; }
  std::vector<ClassUnlock> classes() const;
  // The archive was written under this bag (its keybag UUID is this bag's).
  bool matches(const KeychainArchive& archive) const;

 private:
  friend std::vector<ArchiveEntry> archive_entries(const KeychainArchive& archive,
                                                   const InspectedKeybag* keys);
  struct State;
  explicit InspectedKeybag(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  KeybagHeaderFacts header_;
  PasswordUse password_use_ = PasswordUse::kNone;
  bool used_device_key_ = false;
};

// Every item, class by class; `keys` nullptr: none is opened.
std::vector<ArchiveEntry> archive_entries(const KeychainArchive& archive,
                                          const InspectedKeybag* keys);
// The archive reader's warnings, and one per item whose v_PersistentRef does not decode (the
// restore ignores refs; a bad one says the archive was not written by a keychain).
std::vector<std::string> archive_warnings(const KeychainArchive& archive);

// The largest item blob the engine parses; a bigger file is refused before it is read whole.
inline constexpr size_t kMaxInspectedBlobBytes = size_t{16} << 20;

struct BlobFacts {
  uint32_t version = 0;
  uint32_t keyclass_field = 0;
  uint32_t key_class = 0;
  std::optional<Accessibility> accessible;
  size_t wrapped_key_bytes = 0;
  size_t ciphertext_bytes = 0;
  size_t tag_bytes = 0;
  size_t total_bytes = 0;
};
Result<BlobFacts> blob_facts(ByteView blob);
// The attribute dictionary sealed in the blob. DataLoss "the class key does not open this blob"
// for a wrong key; "... the item is altered" when the key opens the item key but not the item.
Result<DerDict> open_blob_attributes(ByteView blob, ByteView class_key);
// Problems a reader of this dictionary would have: wrong types of known attributes, a pdmn that
// does not match the blob's key class, no v_Data.
std::vector<std::string> attribute_warnings(const DerDict& dict, uint32_t key_class);

}  // namespace kcb
