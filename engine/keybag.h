// Keybags in Apple's TLV layout: records of 4 ASCII tag bytes, a u32 BIG-endian length and the
// value (4-byte values are big-endian integers). A header (VERS, TYPE, UUID, HMCK, WRAP, SALT,
// ITER, and for backups DPWT, DPIC, DPSL) is followed by one group per class key, each starting
// with its own UUID (CLAS, WRAP, KTYP, WPKY, optional PBKY).
//
// parse_keybag keeps every record, unknown tags and file classes included, so serialize_keybag
// gives back the exact bytes of any bag it accepted. Every field is attacker-controlled: lengths,
// record counts and both iteration counts are capped by KeybagLimits, and a bag asking for more is
// refused (ResourceExhausted) before any key derivation runs.
//
// Class-key layers (WRAP bits): 2 = RFC 3394 with the password key, 1 = AES-128-CBC (zero IV, no
// padding) with the device key 0x835. A writer applies 1 then 2; unlock undoes 2 then 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/crypto.h"
#include "engine/small_bytes.h"
#include "kcbackup/bytes.h"
#include "kcbackup/kdf.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

enum class KeybagType : uint32_t { kSystem = 0, kBackup = 1, kEscrow = 2, kOta = 3 };
inline constexpr uint32_t kKeybagTypeMask = 0x3FFFFFFF;  // high bits of TYPE are flags

inline constexpr uint32_t kWrapDevice = 1;    // AES-128-CBC with key 0x835
inline constexpr uint32_t kWrapPassword = 2;  // RFC 3394 with the password key

// The names of TYPE values and WRAP layers, one table each (keybag.cc), for people and tools:
// "system", "backup", "escrow", "ota", else "unknown" (TYPE with its flags masked off);
// "device", "password", "device+password", else the number.
std::string_view keybag_type_name(uint32_t type);
std::string keybag_wrap_name(uint32_t wrap);
inline constexpr size_t kClassKeySize = 32;

struct KeybagRecord {
  std::string tag;    // 4 printable ASCII characters
  SmallBytes value;   // most are 4-40 bytes: kept inside the record
  size_t offset = 0;  // of the record's tag in the parsed bytes
};

struct KeybagClass {
  Bytes uuid;                         // UUID (16)
  uint32_t class_number = 0;          // CLAS
  uint32_t wrap = 0;                  // WRAP: 1, 2 or 3
  uint32_t key_type = 0;              // KTYP: 0 AES, 1 Curve25519 (0 when absent)
  Bytes wrapped_key;                  // WPKY: 40 bytes when WRAP & 2, else 32
  size_t offset = 0;                  // of the group's UUID record
  std::vector<KeybagRecord> records;  // the whole group in order, UUID first, unknown tags kept
};

// A parsed bag. The typed fields are decoded from the records by parse_keybag; serialize_keybag
// writes the records, so to change a bag, create a new one rather than editing fields.
struct Keybag {
  uint32_t version = 0;            // VERS
  uint32_t type_field = 0;         // TYPE as stored, flags included
  Bytes uuid;                      // UUID (16)
  Bytes hmac_key;                  // HMCK (40, wrapped); empty when absent. Not verified.
  uint32_t wrap = 0;               // header WRAP
  Bytes salt;                      // SALT (20)
  uint32_t iterations = 0;         // ITER
  bool double_protection = false;  // DPWT, DPIC and DPSL present (backups since iOS 10.2)
  uint32_t dp_wrap_type = 0;       // DPWT
  uint32_t dp_iterations = 0;      // DPIC
  Bytes dp_salt;                   // DPSL (20)
  std::vector<KeybagRecord> header_records;
  std::vector<KeybagClass> classes;

  uint32_t type() const { return type_field & kKeybagTypeMask; }
  const KeybagClass* find_class(uint32_t class_number) const;  // nullptr when absent
};

// Corruption for broken structure (truncation, length past the end, wrong value length, duplicate
// known tag, class record before any class UUID, missing required record), Unsupported for a
// class WRAP other than 1-3, ResourceExhausted for a cap. Messages name the tag and byte offset.
Result<Keybag> parse_keybag(ByteView bytes, const KeybagLimits& limits = {});
Bytes serialize_keybag(const Keybag& bag);

// k1 = PBKDF2-HMAC-SHA256(password, DPSL, DPIC, 32) when the bag has double protection, else
// k1 = password; k = PBKDF2-HMAC-SHA1(k1, SALT, ITER, 32). Costs ITER + DPIC rounds.
Result<SecretBytes> derive_password_key(const Keybag& bag, ByteView password);

struct UnlockedClass {
  uint32_t class_number = 0;
  // False only when the class has the device layer (WRAP & 1) and no device key was given.
  bool unlocked = false;
  SecretBytes key;  // 32 bytes when unlocked
  KeyWrapKey kek;   // `key` prepared for RFC 3394, when unlocked

  // An unlocked class.
  static Result<UnlockedClass> unlocked_with(uint32_t class_number, SecretBytes key);
};

struct UnlockedKeybag {
  std::vector<UnlockedClass> classes;  // in the bag's order
  // nullptr when the class is absent or was not unlocked.
  const SecretBytes* key_for(uint32_t class_number) const;
  const KeyWrapKey* kek_for(uint32_t class_number) const;  // the same class key, prepared
  bool is_unlocked(uint32_t class_number) const { return key_for(class_number) != nullptr; }
};

// Unwraps every class key. A class with WRAP & 2 whose RFC 3394 check fails under the password key
// means a wrong password: PermissionDenied for the whole unlock. The device layer (CBC) has no
// integrity check: with ANOTHER device's key it silently yields a wrong class key, and the item
// keys wrapped under the right one then fail their RFC 3394 unwrap in open_blob. That is how items
// of ThisDeviceOnly classes are "lost" when restored onto another device. device_key: 16 bytes
// (0x835).
Result<UnlockedKeybag> unlock_keybag(const Keybag& bag, ByteView password,
                                     std::optional<ByteView> device_key);
// The same with a password key from derive_password_key, to pay for the KDF once.
Result<UnlockedKeybag> unlock_keybag_with_password_key(const Keybag& bag, ByteView password_key,
                                                       std::optional<ByteView> device_key);

struct NewClassKey {
  uint32_t class_number = 0;
  uint32_t wrap = kWrapPassword;   // 1, 2 or 3
  std::optional<SecretBytes> key;  // 32 bytes to keep an existing class key; fresh when absent
};

struct NewKeybag {
  Keybag bag;           // serialize_keybag(bag) gives its bytes
  UnlockedKeybag keys;  // the class keys, as unlock_keybag would return them
};

// A fresh bag: random UUID, SALT, DPSL, HMAC key and (unless given) class keys, all from random.
// The password may be empty: such a bag uses the empty password through the same derivation.
// InvalidArgument for a duplicate class, a WRAP outside 1-3, WRAP & 1 without a device key, or
// KDF parameters the default KeybagLimits would refuse.
Result<NewKeybag> create_keybag(KeybagType type, const std::vector<NewClassKey>& classes,
                                ByteView password, std::optional<ByteView> device_key,
                                const KeybagKdf& kdf, Random& random);

}  // namespace kcb
