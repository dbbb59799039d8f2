#include "engine/keybag.h"

#include <algorithm>
#include <array>

#include "engine/crypto.h"
#include "engine/setup_profile.h"

namespace kcb {
namespace {

constexpr size_t kRecordHeaderSize = 8;
constexpr size_t kUuidSize = 16;
constexpr size_t kSaltSize = 20;
constexpr size_t kWrappedHmacKeySize = 40;
constexpr size_t kPasswordKeySize = 32;
// What this writer puts in VERS: 5 in a backup bag, as real backups since iOS 12 carry; 4 in the
// others (a device's system bag). DPWT: the value real backups carry.
constexpr uint32_t kWrittenBackupVersion = 5;
constexpr uint32_t kWrittenVersion = 4;
constexpr uint32_t kWrittenDpWrapType = 1;

void append_record(Bytes& out, std::string_view tag, ByteView value) {
  KCB_ASSERT(tag.size() == 4);
  out.insert(out.end(), tag.begin(), tag.end());
  append_be<uint32_t>(out, static_cast<uint32_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

std::string where(const KeybagRecord& r) {
  return "keybag: record '" + r.tag + "' at offset " + std::to_string(r.offset) + ": ";
}

Status corrupt(const KeybagRecord& r, const std::string& what) {
  return Status::Corruption(where(r) + what);
}

// A tag as the big-endian number of its four bytes (0 for a tag of another length, which no
// known tag is). The parser dispatches on these numbers: comparing the text against each
// candidate tag was a memcmp call per candidate, each intercepted and hooked under the fuzzers.
constexpr uint32_t code_of(std::string_view tag) {
  if (tag.size() != 4) return 0;
  uint32_t code = 0;
  for (char ch : tag)
    code = (code << 8) | static_cast<uint8_t>(ch);
  return code;
}
uint32_t code_of(const KeybagRecord& r) {
  return code_of(std::string_view(r.tag));
}

constexpr uint32_t kVers = code_of("VERS"), kType = code_of("TYPE"), kUuid = code_of("UUID"),
                   kHmck = code_of("HMCK"), kWrap = code_of("WRAP"), kSalt = code_of("SALT"),
                   kIter = code_of("ITER"), kDpwt = code_of("DPWT"), kDpic = code_of("DPIC"),
                   kDpsl = code_of("DPSL"), kClas = code_of("CLAS"), kKtyp = code_of("KTYP"),
                   kWpky = code_of("WPKY"), kPbky = code_of("PBKY");

bool is_printable_tag(const uint8_t* p) {
  for (int i = 0; i < 4; ++i) {
    if (p[i] < 0x20 || p[i] > 0x7E) return false;
  }
  return true;
}

// How many records the bytes hold, counted by their lengths up to the first that does not fit (the
// split below says why): one allocation for the record list instead of a doubling series.
size_t count_records(ByteView bytes) {
  size_t n = 0;
  for (size_t offset = 0; bytes.size() - offset >= kRecordHeaderSize; ++n) {
    const size_t length = load_be32(bytes.data() + offset + 4);
    if (length > bytes.size() - offset - kRecordHeaderSize) return n + 1;
    offset += kRecordHeaderSize + length;
  }
  return n + 1;
}

Result<std::vector<KeybagRecord>> split_records(ByteView bytes, const KeybagLimits& limits) {
  if (bytes.size() > limits.max_size) {
    return Status::ResourceExhausted("keybag: " + std::to_string(bytes.size()) +
                                     " bytes, more than the cap of " +
                                     std::to_string(limits.max_size));
  }
  std::vector<KeybagRecord> records;
  records.reserve(std::min(count_records(bytes), limits.max_records + 1));
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t left = bytes.size() - offset;
    if (left < kRecordHeaderSize) {
      return Status::Corruption("keybag: truncated record header at offset " +
                                std::to_string(offset) + ": " + std::to_string(left) +
                                " bytes left, need 8");
    }
    if (records.size() == limits.max_records) {
      return Status::ResourceExhausted("keybag: more than " + std::to_string(limits.max_records) +
                                       " records (at offset " + std::to_string(offset) + ")");
    }
    const uint8_t* p = bytes.data() + offset;
    if (!is_printable_tag(p)) {
      return Status::Corruption("keybag: record at offset " + std::to_string(offset) + ": tag " +
                                to_hex(ByteView(p, 4)) + " is not 4 ASCII characters");
    }
    KeybagRecord r{std::string(reinterpret_cast<const char*>(p), 4), {}, offset};
    const uint32_t length = load_be32(p + 4);
    if (length > left - kRecordHeaderSize) {
      return corrupt(r, "length " + std::to_string(length) + " runs past the end (" +
                            std::to_string(left - kRecordHeaderSize) + " bytes left)");
    }
    if (length > limits.max_record_length) {
      return Status::ResourceExhausted(where(r) + "length " + std::to_string(length) +
                                       " is more than the cap of " +
                                       std::to_string(limits.max_record_length));
    }
    r.value.assign(p + kRecordHeaderSize, p + kRecordHeaderSize + length);
    records.push_back(std::move(r));
    offset += kRecordHeaderSize + length;
  }
  return records;
}

Status expect_length(const KeybagRecord& r, size_t n) {
  if (r.value.size() == n) return Status::Ok();
  return corrupt(r, "length " + std::to_string(r.value.size()) + ", expected " + std::to_string(n));
}

Result<uint32_t> read_u32(const KeybagRecord& r) {
  KCB_RETURN_IF_ERROR(expect_length(r, 4));
  return load_be32(r.value.data());
}

Result<uint32_t> read_rounds(const KeybagRecord& r, uint32_t cap) {
  KCB_ASSIGN_OR_RETURN(uint32_t rounds, read_u32(r));
  if (rounds == 0) return corrupt(r, "0 rounds");
  if (rounds > cap) {
    return Status::ResourceExhausted(where(r) + std::to_string(rounds) +
                                     " rounds, more than the cap of " + std::to_string(cap));
  }
  return rounds;
}

// Every tag this parser decodes; the others are only kept.
constexpr std::array<uint32_t, 14> kKnownTags = {kVers, kType, kUuid, kHmck, kWrap, kSalt, kIter,
                                                 kDpwt, kDpic, kDpsl, kClas, kKtyp, kWpky, kPbky};

// Known tags may appear once per header or group; unknown tags may repeat (they are only kept).
// The first offset of each known tag seen, in a fixed table: a map here cost a heap node per
// record, a tenth of a bag's allocations (issue 17).
class SeenTags {
 public:
  SeenTags() { first_.fill(kUnseen); }
  // {offset of the first record with the tag, whether this one is that first}. tag: a known one.
  std::pair<size_t, bool> emplace(uint32_t tag, size_t offset) {
    size_t& first = first_[index_of(tag)];
    if (first != kUnseen) return {first, false};
    first = offset;
    return {offset, true};
  }
  size_t count(uint32_t tag) const { return first_[index_of(tag)] != kUnseen ? 1 : 0; }
  size_t count(std::string_view tag) const { return count(code_of(tag)); }

 private:
  static constexpr size_t kUnseen = SIZE_MAX;
  static size_t index_of(uint32_t tag) {
    const auto* it = std::find(kKnownTags.begin(), kKnownTags.end(), tag);
    KCB_ASSERT(it != kKnownTags.end());
    return static_cast<size_t>(it - kKnownTags.begin());
  }
  std::array<size_t, kKnownTags.size()> first_;
};

Status note_once(SeenTags& seen, uint32_t code, const KeybagRecord& r) {
  auto [first, inserted] = seen.emplace(code, r.offset);
  if (inserted) return Status::Ok();
  return corrupt(r, "duplicate (first at offset " + std::to_string(first) + ")");
}

bool is_header_only_tag(uint32_t tag) {
  return tag == kVers || tag == kType || tag == kHmck || tag == kSalt || tag == kIter ||
         tag == kDpwt || tag == kDpic || tag == kDpsl;
}

bool is_class_only_tag(uint32_t tag) {
  return tag == kClas || tag == kKtyp || tag == kWpky || tag == kPbky;
}

Status decode_header_record(const KeybagRecord& r, const KeybagLimits& limits, SeenTags& seen,
                            Keybag& bag) {
  const uint32_t tag = code_of(r);
  if (is_class_only_tag(tag)) {
    return corrupt(r, "class record before any class UUID (a class group starts with its UUID)");
  }
  if (!is_header_only_tag(tag) && tag != kUuid && tag != kWrap) return Status::Ok();
  KCB_RETURN_IF_ERROR(note_once(seen, tag, r));
  if (tag == kVers) {
    KCB_ASSIGN_OR_RETURN(bag.version, read_u32(r));
  } else if (tag == kType) {
    KCB_ASSIGN_OR_RETURN(bag.type_field, read_u32(r));
  } else if (tag == kUuid) {
    KCB_RETURN_IF_ERROR(expect_length(r, kUuidSize));
    bag.uuid = r.value.bytes();
  } else if (tag == kHmck) {
    KCB_RETURN_IF_ERROR(expect_length(r, kWrappedHmacKeySize));
    bag.hmac_key = r.value.bytes();
  } else if (tag == kWrap) {
    KCB_ASSIGN_OR_RETURN(bag.wrap, read_u32(r));
  } else if (tag == kSalt) {
    KCB_RETURN_IF_ERROR(expect_length(r, kSaltSize));
    bag.salt = r.value.bytes();
  } else if (tag == kIter) {
    KCB_ASSIGN_OR_RETURN(bag.iterations, read_rounds(r, limits.max_iterations));
  } else if (tag == kDpwt) {
    KCB_ASSIGN_OR_RETURN(bag.dp_wrap_type, read_u32(r));
  } else if (tag == kDpic) {
    KCB_ASSIGN_OR_RETURN(bag.dp_iterations, read_rounds(r, limits.max_dp_iterations));
  } else if (tag == kDpsl) {
    KCB_RETURN_IF_ERROR(expect_length(r, kSaltSize));
    bag.dp_salt = r.value.bytes();
  }
  return Status::Ok();
}

Status check_header_complete(const SeenTags& seen, Keybag& bag) {
  for (const char* tag : {"VERS", "TYPE", "UUID", "WRAP", "SALT", "ITER"}) {
    if (!seen.count(tag)) {
      return Status::Corruption(std::string("keybag: header has no '") + tag + "' record");
    }
  }
  const size_t dp = seen.count(kDpwt) + seen.count(kDpic) + seen.count(kDpsl);
  if (dp != 0 && dp != 3) {
    return Status::Corruption("keybag: header has only some of 'DPWT', 'DPIC', 'DPSL'");
  }
  bag.double_protection = dp == 3;
  return Status::Ok();
}

std::string group_where(const KeybagClass& c) {
  return "keybag: class group at offset " + std::to_string(c.offset) + ": ";
}

Status decode_class_record(const KeybagRecord& r, SeenTags& seen, KeybagClass& c) {
  const uint32_t tag = code_of(r);
  if (is_header_only_tag(tag)) {
    return corrupt(r, "header record inside the class group at offset " + std::to_string(c.offset));
  }
  if (!is_class_only_tag(tag) && tag != kWrap) return Status::Ok();
  KCB_RETURN_IF_ERROR(note_once(seen, tag, r));
  if (tag == kClas) {
    KCB_ASSIGN_OR_RETURN(c.class_number, read_u32(r));
  } else if (tag == kWrap) {
    KCB_ASSIGN_OR_RETURN(c.wrap, read_u32(r));
  } else if (tag == kKtyp) {
    KCB_ASSIGN_OR_RETURN(c.key_type, read_u32(r));
  } else if (tag == kWpky) {
    c.wrapped_key = r.value.bytes();
  }
  return Status::Ok();
}

Status check_class_complete(const SeenTags& seen, const KeybagClass& c) {
  for (const char* tag : {"CLAS", "WRAP", "WPKY"}) {
    if (!seen.count(tag)) {
      return Status::Corruption(group_where(c) + "no '" + tag + "' record");
    }
  }
  // Built only on an error: a good bag's groups are checked on every parse.
  auto which = [&c] { return group_where(c) + "CLAS " + std::to_string(c.class_number) + ": "; };
  if (c.wrap < 1 || c.wrap > 3) {
    return Status::Unsupported(which() + "WRAP " + std::to_string(c.wrap) + " is not 1, 2 or 3");
  }
  // A 32-byte class key is 40 bytes after RFC 3394 and stays 32 after the CBC layer alone.
  const size_t expected =
      (c.wrap & kWrapPassword) ? kClassKeySize + kKeyWrapOverhead : kClassKeySize;
  if (c.wrapped_key.size() != expected) {
    return Status::Corruption(which() + "WPKY of " + std::to_string(c.wrapped_key.size()) +
                              " bytes, expected " + std::to_string(expected) + " for WRAP " +
                              std::to_string(c.wrap));
  }
  return Status::Ok();
}

// Decodes the class group whose UUID is records[*i], moving its records into the group; leaves *i
// at the next group's UUID or the end.
Result<KeybagClass> decode_class_group(std::vector<KeybagRecord>& records, size_t* i) {
  KeybagClass c;
  const KeybagRecord& uuid = records[*i];
  KCB_RETURN_IF_ERROR(expect_length(uuid, kUuidSize));
  c.uuid = uuid.value.bytes();
  c.offset = uuid.offset;
  SeenTags seen;
  seen.emplace(kUuid, uuid.offset);
  size_t end = *i + 1;
  while (end < records.size() && code_of(records[end]) != kUuid)
    ++end;
  c.records.reserve(end - *i);
  c.records.push_back(std::move(records[*i]));
  for (++*i; *i < end; ++*i) {
    KCB_RETURN_IF_ERROR(decode_class_record(records[*i], seen, c));
    c.records.push_back(std::move(records[*i]));
  }
  KCB_RETURN_IF_ERROR(check_class_complete(seen, c));
  return c;
}

Status check_class_unique(const Keybag& bag, const KeybagClass& c) {
  const KeybagClass* earlier = bag.find_class(c.class_number);
  if (earlier == nullptr) return Status::Ok();
  return Status::Corruption(group_where(c) + "CLAS " + std::to_string(c.class_number) +
                            " already defined by the group at offset " +
                            std::to_string(earlier->offset));
}

Result<SecretBytes> derive_key(ByteView password, bool double_protection, ByteView dp_salt,
                               uint32_t dp_iterations, ByteView salt, uint32_t iterations) {
  if (!double_protection) {
    return pbkdf2_hmac_sha1(password, salt, iterations, kPasswordKeySize);
  }
  KCB_ASSIGN_OR_RETURN(SecretBytes k1,
                       pbkdf2_hmac_sha256(password, dp_salt, dp_iterations, kPasswordKeySize));
  return pbkdf2_hmac_sha1(k1.view(), salt, iterations, kPasswordKeySize);
}

Status check_device_key(std::optional<ByteView> device_key) {
  if (!device_key || device_key->size() == kDeviceKeySize) return Status::Ok();
  return Status::InvalidArgument("keybag: device key of " + std::to_string(device_key->size()) +
                                 " bytes, expected 16");
}

bool needs_password_key(const Keybag& bag) {
  for (const KeybagClass& c : bag.classes) {
    if (c.wrap & kWrapPassword) return true;
  }
  return false;
}

// ---- writer ----

Status check_new_classes(const std::vector<NewClassKey>& classes,
                         std::optional<ByteView> device_key) {
  // The error texts are built only on an error: this runs for every keybag a simulated device or
  // backup creates.
  auto which = [](const NewClassKey& c) {
    return "create keybag: class " + std::to_string(c.class_number) + ": ";
  };
  for (const NewClassKey& c : classes) {
    if (c.wrap < 1 || c.wrap > 3) {
      return Status::InvalidArgument(which(c) + "WRAP " + std::to_string(c.wrap) +
                                     " is not 1, 2 or 3");
    }
    if ((c.wrap & kWrapDevice) && !device_key) {
      return Status::InvalidArgument(which(c) + "WRAP " + std::to_string(c.wrap) +
                                     " needs a device key");
    }
    if (c.key && c.key->size() != kClassKeySize) {
      return Status::InvalidArgument(which(c) + "key of " + std::to_string(c.key->size()) +
                                     " bytes, expected 32");
    }
  }
  std::vector<uint32_t> numbers;
  numbers.reserve(classes.size());
  for (const NewClassKey& c : classes)
    numbers.push_back(c.class_number);
  std::sort(numbers.begin(), numbers.end());
  const auto twice = std::adjacent_find(numbers.begin(), numbers.end());
  if (twice != numbers.end()) {
    return Status::InvalidArgument("create keybag: class " + std::to_string(*twice) +
                                   ": given twice");
  }
  return Status::Ok();
}

Status check_kdf(const KeybagKdf& kdf) {
  const KeybagLimits limits;
  if (kdf.iterations == 0 || kdf.iterations > limits.max_iterations) {
    return Status::InvalidArgument("create keybag: ITER " + std::to_string(kdf.iterations) +
                                   " outside 1.." + std::to_string(limits.max_iterations));
  }
  if (kdf.double_protection &&
      (kdf.dp_iterations == 0 || kdf.dp_iterations > limits.max_dp_iterations)) {
    return Status::InvalidArgument("create keybag: DPIC " + std::to_string(kdf.dp_iterations) +
                                   " outside 1.." + std::to_string(limits.max_dp_iterations));
  }
  return Status::Ok();
}

Bytes random_bytes(Random& random, size_t n) {
  Bytes b(n);
  random.fill(b);
  return b;
}

// The password key of a bag being written, prepared once for RFC 3394: a bag wraps its HMAC key
// and up to 12 class keys under it. The baseline set-up prepares it again for every wrap, as
// before.
struct PasswordKek {
  ByteView key;
  KeyWrapKey prepared;

  Result<Bytes> wrap(ByteView key_data) const {
    if (baseline_setup()) return aes_key_wrap(key, key_data);
    return aes_key_wrap(prepared, key_data);
  }
};

// Writer order of layers: device (CBC) first, then password (RFC 3394); unlock undoes them.
// `device_layer` is the device key prepared once for the bag (nullptr in the baseline set-up,
// which opens a cipher context per class).
Result<Bytes> wrap_class_key(ByteView key, uint32_t wrap, const PasswordKek& password_key,
                             std::optional<ByteView> device_key, const KeyWrapKey* device_layer) {
  if (!(wrap & kWrapDevice)) {
    if (wrap & kWrapPassword) return password_key.wrap(key);
    return Bytes(key.begin(), key.end());
  }
  KCB_ASSIGN_OR_RETURN(Bytes inner, device_layer != nullptr
                                        ? aes_cbc_encrypt_zero_iv(*device_layer, key)
                                        : aes128_cbc_encrypt_zero_iv(*device_key, key));
  if (!(wrap & kWrapPassword)) return inner;
  Result<Bytes> out = password_key.wrap(inner);
  wipe(inner);  // the class key under the device key alone
  return out;
}

// The writer's half of a bag: the records parse_keybag would split its bytes into, each with the
// offset it has in serialize_keybag's output. A new bag's typed fields are set from the values
// written, so that create_keybag need not parse its own output (issue 17: a fifth of a bag's
// cost), nor write bytes nobody reads; the baseline set-up still serializes and parses it, and
// tests/device_reuse_test.cc checks that both give the same Keybag.
class BagWriter {
 public:
  explicit BagWriter(size_t classes) {
    bag_.header_records.reserve(kHeaderRecords);
    bag_.classes.reserve(classes);
  }
  void header(std::string_view tag, ByteView value) {
    bag_.header_records.push_back(record(tag, value));
  }
  void header_u32(std::string_view tag, uint32_t v) { header(tag, be32(v)); }
  void start_class() {
    bag_.classes.emplace_back();
    bag_.classes.back().offset = size_;
    bag_.classes.back().records.reserve(kRecordsPerClass);
  }
  void class_record(std::string_view tag, ByteView value) {
    bag_.classes.back().records.push_back(record(tag, value));
  }
  void class_u32(std::string_view tag, uint32_t v) { class_record(tag, be32(v)); }
  Keybag& bag() { return bag_; }

 private:
  static constexpr size_t kRecordsPerClass = 5;  // UUID CLAS WRAP KTYP WPKY
  static constexpr size_t kHeaderRecords = 10;  // VERS TYPE UUID HMCK WRAP SALT ITER DPWT DPIC DPSL
  static std::array<uint8_t, 4> be32(uint32_t v) {
    std::array<uint8_t, 4> b;
    store_be32(b.data(), v);
    return b;
  }
  KeybagRecord record(std::string_view tag, ByteView value) {
    KCB_ASSERT(tag.size() == 4);
    KeybagRecord r{std::string(tag), SmallBytes(value), size_};
    size_ += kRecordHeaderSize + value.size();
    return r;
  }

  size_t size_ = 0;  // of the bag's bytes so far
  Keybag bag_;
};

}  // namespace

const KeybagClass* Keybag::find_class(uint32_t class_number) const {
  for (const KeybagClass& c : classes) {
    if (c.class_number == class_number) return &c;
  }
  return nullptr;
}

Result<UnlockedClass> UnlockedClass::unlocked_with(uint32_t class_number, SecretBytes key) {
  UnlockedClass u;
  u.class_number = class_number;
  u.unlocked = true;
  KCB_ASSIGN_OR_RETURN(u.kek, KeyWrapKey::create(key.view()));
  u.key = std::move(key);
  return u;
}

const KeyWrapKey* UnlockedKeybag::kek_for(uint32_t class_number) const {
  for (const UnlockedClass& c : classes) {
    if (c.class_number == class_number) return c.unlocked ? &c.kek : nullptr;
  }
  return nullptr;
}

const SecretBytes* UnlockedKeybag::key_for(uint32_t class_number) const {
  for (const UnlockedClass& c : classes) {
    if (c.class_number == class_number) return c.unlocked ? &c.key : nullptr;
  }
  return nullptr;
}

namespace {

struct NamedNumber {
  uint32_t number;
  std::string_view name;
};

constexpr NamedNumber kKeybagTypeNames[] = {
    {static_cast<uint32_t>(KeybagType::kSystem), "system"},
    {static_cast<uint32_t>(KeybagType::kBackup), "backup"},
    {static_cast<uint32_t>(KeybagType::kEscrow), "escrow"},
    {static_cast<uint32_t>(KeybagType::kOta), "ota"},
};

constexpr NamedNumber kWrapNames[] = {
    {kWrapDevice, "device"},
    {kWrapPassword, "password"},
    {kWrapDevice | kWrapPassword, "device+password"},
};

}  // namespace

std::string_view keybag_type_name(uint32_t type) {
  for (const NamedNumber& n : kKeybagTypeNames)
    if (n.number == type) return n.name;
  return "unknown";
}

std::string keybag_wrap_name(uint32_t wrap) {
  for (const NamedNumber& n : kWrapNames)
    if (n.number == wrap) return std::string(n.name);
  return std::to_string(wrap);
}

namespace {

// Room for the header's records (those before the second UUID) and one class per further UUID, at
// most the cap: no doubling series of moves of records and groups.
void reserve_for(const std::vector<KeybagRecord>& records, const KeybagLimits& limits,
                 Keybag& bag) {
  size_t uuids = 0;
  size_t header = records.size();
  for (size_t i = 0; i < records.size(); ++i) {
    if (code_of(records[i]) != kUuid) continue;
    if (++uuids == 2) header = i;
  }
  bag.header_records.reserve(header);
  bag.classes.reserve(std::min(uuids > 1 ? uuids - 1 : 0, limits.max_classes));
}

}  // namespace

Result<Keybag> parse_keybag(ByteView bytes, const KeybagLimits& limits) {
  KCB_ASSIGN_OR_RETURN(std::vector<KeybagRecord> records, split_records(bytes, limits));
  Keybag bag;
  reserve_for(records, limits, bag);
  SeenTags seen;
  size_t i = 0;
  // The header runs to the second UUID: its own UUID comes after VERS and TYPE, before HMCK.
  for (; i < records.size() && !(code_of(records[i]) == kUuid && seen.count(kUuid)); ++i) {
    KCB_RETURN_IF_ERROR(decode_header_record(records[i], limits, seen, bag));
    bag.header_records.push_back(std::move(records[i]));
  }
  KCB_RETURN_IF_ERROR(check_header_complete(seen, bag));
  while (i < records.size()) {
    if (bag.classes.size() == limits.max_classes) {
      return Status::ResourceExhausted("keybag: more than " + std::to_string(limits.max_classes) +
                                       " class groups (at offset " +
                                       std::to_string(records[i].offset) + ")");
    }
    KCB_ASSIGN_OR_RETURN(KeybagClass c, decode_class_group(records, &i));
    KCB_RETURN_IF_ERROR(check_class_unique(bag, c));
    bag.classes.push_back(std::move(c));
  }
  return bag;
}

Bytes serialize_keybag(const Keybag& bag) {
  size_t size = 0;
  for (const KeybagRecord& r : bag.header_records)
    size += kRecordHeaderSize + r.value.size();
  for (const KeybagClass& c : bag.classes) {
    for (const KeybagRecord& r : c.records)
      size += kRecordHeaderSize + r.value.size();
  }
  Bytes out;
  out.reserve(size);
  for (const KeybagRecord& r : bag.header_records)
    append_record(out, r.tag, r.value);
  for (const KeybagClass& c : bag.classes) {
    for (const KeybagRecord& r : c.records)
      append_record(out, r.tag, r.value);
  }
  return out;
}

Result<SecretBytes> derive_password_key(const Keybag& bag, ByteView password) {
  return derive_key(password, bag.double_protection, bag.dp_salt, bag.dp_iterations, bag.salt,
                    bag.iterations);
}

Result<UnlockedKeybag> unlock_keybag(const Keybag& bag, ByteView password,
                                     std::optional<ByteView> device_key) {
  KCB_RETURN_IF_ERROR(check_device_key(device_key));
  SecretBytes password_key;
  if (needs_password_key(bag)) {
    KCB_ASSIGN_OR_RETURN(password_key, derive_password_key(bag, password));
  }
  return unlock_keybag_with_password_key(bag, password_key.view(), device_key);
}

Result<UnlockedKeybag> unlock_keybag_with_password_key(const Keybag& bag, ByteView password_key,
                                                       std::optional<ByteView> device_key) {
  KCB_RETURN_IF_ERROR(check_device_key(device_key));
  if (needs_password_key(bag) && password_key.size() != kPasswordKeySize) {
    return Status::InvalidArgument("keybag: password key of " +
                                   std::to_string(password_key.size()) + " bytes, expected 32");
  }
  // Each key prepared once for all of the bag's classes, except in the baseline set-up (issue 17: a
  // key schedule and a cipher context per class and layer were a quarter of an unlock).
  KeyWrapKey password_kek, device_layer;
  if (!baseline_setup()) {
    if (needs_password_key(bag)) {
      KCB_ASSIGN_OR_RETURN(password_kek, KeyWrapKey::create(password_key));
    }
    if (device_key) {
      KCB_ASSIGN_OR_RETURN(device_layer, KeyWrapKey::create(*device_key));
    }
  }
  UnlockedKeybag out;
  for (const KeybagClass& c : bag.classes) {
    UnlockedClass u;
    u.class_number = c.class_number;
    SecretBytes key(c.wrapped_key);
    if (c.wrap & kWrapPassword) {
      auto unwrapped = password_kek.empty() ? aes_key_unwrap(password_key, c.wrapped_key)
                                            : aes_key_unwrap(password_kek, c.wrapped_key);
      if (!unwrapped.ok()) {
        return Status::PermissionDenied("wrong backup password: keybag: the class " +
                                        std::to_string(c.class_number) + " key (group at offset " +
                                        std::to_string(c.offset) +
                                        ") failed the RFC 3394 integrity check");
      }
      key = std::move(*unwrapped);
    }
    // The CBC layer cannot tell a wrong device key: it yields a wrong class key, whose item keys
    // later fail their RFC 3394 unwrap (items of ThisDeviceOnly classes are lost, not refused).
    if (c.wrap & kWrapDevice) {
      if (!device_key) {
        out.classes.push_back(std::move(u));
        continue;
      }
      KCB_ASSIGN_OR_RETURN(key, device_layer.empty()
                                    ? aes128_cbc_decrypt_zero_iv(*device_key, key.view())
                                    : aes_cbc_decrypt_zero_iv(device_layer, key.view()));
    }
    KCB_ASSIGN_OR_RETURN(u, UnlockedClass::unlocked_with(c.class_number, std::move(key)));
    out.classes.push_back(std::move(u));
  }
  return out;
}

Result<NewKeybag> create_keybag(KeybagType type, const std::vector<NewClassKey>& classes,
                                ByteView password, std::optional<ByteView> device_key,
                                const KeybagKdf& kdf, Random& random) {
  KCB_RETURN_IF_ERROR(check_device_key(device_key));
  KCB_RETURN_IF_ERROR(check_new_classes(classes, device_key));
  KCB_RETURN_IF_ERROR(check_kdf(kdf));
  const Bytes uuid = random_bytes(random, kUuidSize);
  const Bytes salt = random_bytes(random, kSaltSize);
  const Bytes dp_salt = kdf.double_protection ? random_bytes(random, kSaltSize) : Bytes();
  KCB_ASSIGN_OR_RETURN(SecretBytes password_key,
                       derive_key(password, kdf.double_protection, dp_salt, kdf.dp_iterations, salt,
                                  kdf.iterations));
  PasswordKek password_kek{password_key.view(), {}};
  KCB_ASSIGN_OR_RETURN(password_kek.prepared, KeyWrapKey::create(password_key.view()));
  SecretBytes hmac_key(kClassKeySize);
  random.fill(hmac_key.span());
  KCB_ASSIGN_OR_RETURN(Bytes wrapped_hmac_key, password_kek.wrap(hmac_key.view()));
  uint32_t header_wrap = 0;
  for (const NewClassKey& c : classes)
    header_wrap |= c.wrap;

  BagWriter w(classes.size());
  Keybag& bag = w.bag();
  bag.version = type == KeybagType::kBackup ? kWrittenBackupVersion : kWrittenVersion;
  bag.type_field = static_cast<uint32_t>(type);
  bag.uuid = uuid;
  bag.hmac_key = wrapped_hmac_key;
  bag.wrap = header_wrap;
  bag.salt = salt;
  bag.iterations = kdf.iterations;
  w.header_u32("VERS", bag.version);
  w.header_u32("TYPE", bag.type_field);
  w.header("UUID", uuid);
  w.header("HMCK", wrapped_hmac_key);
  w.header_u32("WRAP", header_wrap);
  w.header("SALT", salt);
  w.header_u32("ITER", kdf.iterations);
  if (kdf.double_protection) {
    bag.double_protection = true;
    bag.dp_wrap_type = kWrittenDpWrapType;
    bag.dp_iterations = kdf.dp_iterations;
    bag.dp_salt = dp_salt;
    w.header_u32("DPWT", kWrittenDpWrapType);
    w.header_u32("DPIC", kdf.dp_iterations);
    w.header("DPSL", dp_salt);
  }
  KeyWrapKey device_layer;
  if (device_key && (header_wrap & kWrapDevice) && !baseline_setup()) {
    KCB_ASSIGN_OR_RETURN(device_layer, KeyWrapKey::create(*device_key));
  }
  UnlockedKeybag keys;
  keys.classes.reserve(classes.size());
  for (const NewClassKey& c : classes) {
    SecretBytes key = c.key ? *c.key : SecretBytes(kClassKeySize);
    if (!c.key) random.fill(key.span());
    KCB_ASSIGN_OR_RETURN(Bytes wpky,
                         wrap_class_key(key.view(), c.wrap, password_kek, device_key,
                                        device_layer.empty() ? nullptr : &device_layer));
    w.start_class();
    KeybagClass& group = bag.classes.back();
    group.uuid = uuid;
    group.class_number = c.class_number;
    group.wrap = c.wrap;
    group.key_type = 0;  // AES
    w.class_record("UUID", uuid);
    w.class_u32("CLAS", c.class_number);
    w.class_u32("WRAP", c.wrap);
    w.class_u32("KTYP", 0);
    w.class_record("WPKY", wpky);
    group.wrapped_key = std::move(wpky);
    KCB_ASSIGN_OR_RETURN(UnlockedClass unlocked,
                         UnlockedClass::unlocked_with(c.class_number, std::move(key)));
    keys.classes.push_back(std::move(unlocked));
  }
  if (!baseline_setup()) return NewKeybag{std::move(bag), std::move(keys)};
  // The baseline set-up (engine/setup_profile.h): parse what was just written, as before.
  KCB_ASSIGN_OR_RETURN(Keybag parsed, parse_keybag(serialize_keybag(bag)));
  return NewKeybag{std::move(parsed), std::move(keys)};
}

}  // namespace kcb
