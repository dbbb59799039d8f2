// The restore targets' structure-aware mutations (fuzz targets restore and folder): keybag TLV
// records, keychain-archive items and blobs, the archive's keybag-uuid, Manifest.plist's fields.
// Each decodes one file, changes one field the restore path decides on, and re-encodes it.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"
#include "kcbackup/random.h"

// libFuzzer's byte mutations. Weak: the replay build has no libFuzzer and never mutates.
extern "C" __attribute__((weak)) size_t LLVMFuzzerMutate(uint8_t* data, size_t size,
                                                         size_t max_size);

namespace kcb::fuzz {

// Draws from the seed libFuzzer gives, through the engine's one source of randomness.
class Dice {
 public:
  explicit Dice(unsigned int seed) : random_(make_seeded_random(seed)) {}
  uint32_t u32() {
    uint8_t b[4];
    random_->fill(b);
    return load_le32(b);
  }
  size_t below(size_t n) { return n == 0 ? 0 : u32() % n; }
  bool one_in(size_t n) { return below(n) == 0; }

 private:
  std::unique_ptr<Random> random_;
};

// Values the restore path branches on: key classes, WRAP bits, keybag TYPEs, iteration caps,
// lengths around the blob's fixed sizes, flag bits.
inline uint32_t interesting_u32(Dice& dice) {
  static constexpr uint32_t kValues[] = {
      0,  1,  2,  3,   4,           5,           6,           7,           8,     9,
      10, 11, 12, 13,  14,          15,          16,          17,          31,    32,
      39, 40, 41, 255, 0x80000000u, 0x8000000Bu, 0x7FFFFFFFu, 0xFFFFFFFFu, 10000, 10000000};
  if (dice.one_in(8)) return dice.u32();
  return kValues[dice.below(std::size(kValues))];
}

inline void put_le32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

inline void put_be32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// libFuzzer's own byte mutations on one field, with room to grow.
inline void mutate_bytes(Bytes& b, size_t max_growth) {
  const size_t size = b.size();
  b.resize(size + max_growth);
  b.resize(LLVMFuzzerMutate(b.data(), size, b.size()));
}

// A keybag as a flat record list, read leniently (a broken bag is still mutated structurally).
struct RawRecord {
  Bytes tag;
  Bytes value;
};

inline std::vector<RawRecord> split_records(ByteView bag) {
  std::vector<RawRecord> out;
  size_t at = 0;
  while (bag.size() - at >= 8) {
    const size_t n = load_be32(bag.data() + at + 4);
    const size_t take = std::min(n, bag.size() - at - 8);
    out.push_back({Bytes(bag.begin() + at, bag.begin() + at + 4),
                   Bytes(bag.begin() + at + 8, bag.begin() + at + 8 + take)});
    at += 8 + take;
  }
  return out;
}

inline Bytes join_records(const std::vector<RawRecord>& records) {
  Bytes out;
  for (const RawRecord& r : records) {
    out.insert(out.end(), r.tag.begin(), r.tag.end());
    out.resize(out.size() + 4);
    put_be32(out, out.size() - 4, static_cast<uint32_t>(r.value.size()));
    out.insert(out.end(), r.value.begin(), r.value.end());
  }
  return out;
}

inline bool tag_is(const RawRecord& r, const char* tag) {
  return r.tag.size() == 4 && std::memcmp(r.tag.data(), tag, 4) == 0;
}

// The bag's header UUID (the first UUID record), if any.
inline Bytes* bag_uuid(std::vector<RawRecord>& records) {
  for (RawRecord& r : records) {
    if (tag_is(r, "UUID")) return &r.value;
  }
  return nullptr;
}

// Returns the bag's new UUID as text when the archive's keybag-uuid should follow it.
inline std::optional<std::string> mutate_keybag(Manifest& manifest, Dice& dice) {
  std::optional<std::string> follow;
  Bytes& bag = manifest.backup_keybag;
  std::vector<RawRecord> records = split_records(bag);
  if (records.empty() || dice.one_in(6)) {
    mutate_bytes(bag, 64);
    return follow;
  }
  RawRecord& r = records[dice.below(records.size())];
  switch (dice.below(6)) {
    case 0:  // a 4-byte field (WRAP, CLAS, TYPE, ITER, DPIC, KTYP, VERS) to a value that matters
      r.value.resize(4);
      put_be32(r.value, 0, interesting_u32(dice));
      break;
    case 1:  // a wrong value length
      r.value.resize(dice.below(2) ? r.value.size() + 1 + dice.below(8)
                                   : dice.below(r.value.size() + 1));
      break;
    case 2:  // duplicate or drop a record
      if (dice.one_in(2)) {
        records.insert(records.begin() + dice.below(records.size() + 1), r);
      } else {
        records.erase(records.begin() + dice.below(records.size()));
      }
      break;
    case 3:  // swap two records (class groups change shape)
      std::swap(r, records[dice.below(records.size())]);
      break;
    case 4:  // a record's bytes (e.g. WPKY, SALT) through libFuzzer
      mutate_bytes(r.value, 16);
      break;
    default: {  // a new header UUID, with the archive following it half of the time
      Bytes* uuid = bag_uuid(records);
      if (uuid == nullptr || uuid->size() != 16) break;
      (*uuid)[dice.below(16)] ^= static_cast<uint8_t>(1 + dice.below(255));
      if (dice.one_in(2)) follow = uuid_text(*uuid);
      break;
    }
  }
  bag = join_records(records);
  // A length field that does not match what follows, after the fact.
  if (dice.one_in(10) && bag.size() >= 8) {
    const std::vector<RawRecord> again = split_records(bag);
    size_t at = 0;
    const size_t pick = dice.below(again.size());
    for (size_t i = 0; i < pick; ++i)
      at += 8 + again[i].value.size();
    put_be32(bag, at + 4, interesting_u32(dice));
  }
  return follow;
}

inline std::vector<ArchivedItem>* some_class(KeychainArchive& archive, Dice& dice, bool non_empty) {
  std::vector<std::vector<ArchivedItem>*> candidates;
  for (auto& items : archive.items) {
    if (!non_empty || !items.empty()) candidates.push_back(&items);
  }
  if (candidates.empty()) return nullptr;
  return candidates[dice.below(candidates.size())];
}

inline void mutate_blob(Bytes& blob, Dice& dice) {
  switch (dice.below(5)) {
    case 0:  // keyclass: another class number, or flag bits
      if (blob.size() >= 8) put_le32(blob, 4, interesting_u32(dice));
      break;
    case 1:  // version or wrapped_key_len
      if (blob.size() >= 12) put_le32(blob, dice.one_in(2) ? 0 : 8, interesting_u32(dice));
      break;
    case 2:  // truncated
      blob.resize(dice.below(blob.size() + 1));
      break;
    case 3:  // one byte of the wrapped key, ciphertext or tag
      if (!blob.empty()) blob[dice.below(blob.size())] ^= static_cast<uint8_t>(1 + dice.below(255));
      break;
    default:
      mutate_bytes(blob, 32);
      break;
  }
}

inline void mutate_items(KeychainArchive& archive, Dice& dice) {
  std::vector<ArchivedItem>* from = some_class(archive, dice, true);
  if (from == nullptr) return;
  const size_t i = dice.below(from->size());
  switch (dice.below(6)) {
    case 0:
      mutate_blob((*from)[i].blob, dice);
      break;
    case 1:  // drop
      from->erase(from->begin() + i);
      break;
    case 2:  // duplicate (a duplicate primary key on restore)
      from->insert(from->begin() + dice.below(from->size() + 1), (*from)[i]);
      break;
    case 3:  // reorder
      std::swap((*from)[i], (*from)[dice.below(from->size())]);
      break;
    case 4: {  // into another class array (the item's class comes from the array)
      std::vector<ArchivedItem>* to = some_class(archive, dice, false);
      ArchivedItem moved = std::move((*from)[i]);
      from->erase(from->begin() + i);
      to->insert(to->begin() + dice.below(to->size() + 1), std::move(moved));
      break;
    }
    default:  // the persistent ref, which restore does not trust
      mutate_bytes((*from)[i].persistent_ref, 8);
      break;
  }
}

inline void mutate_keybag_uuid_text(std::string& uuid, Dice& dice) {
  if (!uuid.empty() && dice.one_in(2)) {
    char& c = uuid[dice.below(uuid.size())];
    c = dice.one_in(2) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                       : "0123456789ABCDEF-x"[dice.below(18)];
    return;
  }
  Bytes text(uuid.begin(), uuid.end());
  mutate_bytes(text, 8);
  uuid.assign(text.begin(), text.end());
}

// The writer takes text only (valid UTF-8), but a hostile archive's uuid string may hold any bytes
// (the reader must refuse them). Such a uuid is written as an ASCII placeholder of its length, and
// the placeholder's string object, found through the offset table, is overwritten in place: what
// the old libplist writer produced for it.
inline uint64_t read_be(const Bytes& b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v = v << 8 | b[at + i];
  return v;
}

inline Bytes ascii_string_object(const std::string& text) {
  const size_t n = text.size();
  KCB_ASSERT(n < 0x10000);
  Bytes out = n < 15    ? Bytes{static_cast<uint8_t>(0x50 | n)}
              : n < 256 ? Bytes{0x5F, 0x10, static_cast<uint8_t>(n)}
                        : Bytes{0x5F, 0x11, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

inline void overwrite_string_object(Bytes& file, const std::string& placeholder,
                                    const std::string& bytes) {
  const Bytes object = ascii_string_object(placeholder);
  const size_t trailer = file.size() - 32;
  const size_t offset_size = file[trailer + 6];
  const uint64_t count = read_be(file, trailer + 8, 8);
  const uint64_t table = read_be(file, trailer + 24, 8);
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = read_be(file, table + i * offset_size, offset_size);
    if (at + object.size() <= table &&
        std::equal(object.begin(), object.end(), file.begin() + at)) {
      std::copy(bytes.begin(), bytes.end(), file.begin() + at + (object.size() - bytes.size()));
      return;
    }
  }
  KCB_ASSERT(!"the placeholder string object was not written");
}

inline void write_archive_with_any_uuid_bytes(KeychainArchive& archive, Bytes& archive_file) {
  const std::string uuid = archive.keybag_uuid;
  if (is_valid_utf8(uuid)) {
    archive_file = write_keychain_archive(archive);
    return;
  }
  archive.keybag_uuid.assign(uuid.size(), '~');
  archive_file = write_keychain_archive(archive);
  overwrite_string_object(archive_file, archive.keybag_uuid, uuid);
}

// A mutation decodes and re-encodes only the file it changes: encoding a plist is a large part of
// one execution.
inline void mutate_manifest_file(Bytes& manifest_file, Bytes& archive_file, Dice& dice) {
  auto manifest = read_manifest(manifest_file);
  if (!manifest.ok()) {
    mutate_bytes(manifest_file, 64);
    return;
  }
  std::optional<std::string> follow;
  if (dice.one_in(4)) {
    manifest->is_encrypted = !manifest->is_encrypted;
  } else {
    follow = mutate_keybag(*manifest, dice);
  }
  manifest_file = write_manifest(*manifest);
  if (!follow) return;
  auto archive = read_keychain_archive(archive_file);
  if (!archive.ok()) return;
  archive->keybag_uuid = *follow;
  write_archive_with_any_uuid_bytes(*archive, archive_file);
}

inline void mutate_archive_file(Bytes& archive_file, Dice& dice) {
  auto archive = read_keychain_archive(archive_file);
  if (!archive.ok()) {
    mutate_bytes(archive_file, 64);
    return;
  }
  if (dice.one_in(6)) {
    mutate_keybag_uuid_text(archive->keybag_uuid, dice);
  } else {
    mutate_items(*archive, dice);
  }
  write_archive_with_any_uuid_bytes(*archive, archive_file);
}
}  // namespace kcb::fuzz
