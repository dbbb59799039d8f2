#include "engine/binary_plist_writer.h"

#include <bit>

#include <plist/plist.h>

#include <algorithm>
#include <cstdlib>

#include "engine/setup_profile.h"
#include "input/property_list.h"
#include "kcbackup/der.h"
#include "kcbackup/status.h"

namespace kcb {

namespace {

size_t bytes_for(uint64_t max_value) {
  if (max_value <= 0xFF) return 1;
  if (max_value <= 0xFFFF) return 2;
  if (max_value <= 0xFFFFFFFF) return 4;
  return 8;
}

std::u16string utf16_of(std::string_view text) {
  std::u16string units;
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k)
      cp = cp << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    i += n;
    if (cp < 0x10000) {
      units.push_back(static_cast<char16_t>(cp));
    } else {
      cp -= 0x10000;
      units.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      units.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    }
  }
  return units;
}

// FNV-1a: the table is per writer, its keys are the writer's own strings.
uint64_t text_hash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325u;
  for (char c : text)
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3u;
  return h;
}

// Working memory bigger than this is not kept for the next writer (a million-item archive's
// tables would otherwise stay allocated for the thread's life).
constexpr size_t kMaxPooledBytes = 1 << 20;

}  // namespace

void BinaryPlistWriter::Scratch::clear() {
  objects.clear();
  refs.clear();
  texts.clear();
  std::fill(slots.begin(), slots.end(), 0);
  strings = 0;
}

BinaryPlistWriter::BinaryPlistWriter() {
  if (auto idle = baseline_setup() ? std::nullopt : ScratchPool::take()) s_ = std::move(*idle);
}

BinaryPlistWriter::~BinaryPlistWriter() {
  const size_t bytes = s_.objects.capacity() * sizeof(Object) + s_.refs.capacity() * sizeof(Ref) +
                       s_.texts.capacity() + s_.slots.capacity() * sizeof(uint64_t);
  if (baseline_setup() || bytes > kMaxPooledBytes || !ScratchPool::has_room()) return;
  s_.clear();
  ScratchPool::give(std::move(s_));
}

BinaryPlistWriter::Ref BinaryPlistWriter::add(Object object) {
  s_.objects.push_back(object);
  return s_.objects.size() - 1;
}

std::string_view BinaryPlistWriter::text_of(const Object& object) const {
  return std::string_view(s_.texts).substr(object.value, object.size);
}

// The slot holding `text`'s object, or the free slot where it belongs.
uint64_t* BinaryPlistWriter::slot_for(std::string_view text, uint64_t hash) {
  const size_t mask = s_.slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t& slot = s_.slots[i];
    if (slot == 0 || text_of(s_.objects[slot - 1]) == text) return &slot;
  }
}

// Doubles the table (16 slots at first), keeping it at most half full.
void BinaryPlistWriter::grow_slots() {
  std::vector<uint64_t> old =
      std::exchange(s_.slots, std::vector<uint64_t>(std::max<size_t>(16, 2 * s_.slots.size()), 0));
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    const std::string_view text = text_of(s_.objects[slot - 1]);
    *slot_for(text, text_hash(text)) = slot;
  }
}

BinaryPlistWriter::Ref BinaryPlistWriter::boolean(bool value) {
  return add({Kind::kBoolean, nullptr, value ? 1u : 0u});
}

BinaryPlistWriter::Ref BinaryPlistWriter::integer(int64_t value) {
  Object o{Kind::kInteger};
  o.value = static_cast<uint64_t>(value);
  return add(o);
}

BinaryPlistWriter::Ref BinaryPlistWriter::date(int64_t unix_seconds) {
  Object o{Kind::kDate};
  o.value = std::bit_cast<uint64_t>(static_cast<double>(unix_seconds - kAppleEpochUnixSeconds));
  return add(o);
}

BinaryPlistWriter::Ref BinaryPlistWriter::uid(uint64_t value) {
  Object o{Kind::kUid};
  o.value = value;
  return add(o);
}

BinaryPlistWriter::Ref BinaryPlistWriter::data(ByteView bytes) {
  return add({Kind::kData, bytes.data(), bytes.size()});
}

BinaryPlistWriter::Ref BinaryPlistWriter::string(std::string_view text) {
  // Every writer is fed text it read (readers refuse invalid UTF-8) or made itself.
  KCB_ASSERT(is_valid_utf8(text));
  if (2 * (s_.strings + 1) > s_.slots.size()) grow_slots();
  uint64_t* slot = slot_for(text, text_hash(text));
  if (*slot != 0) return *slot - 1;
  Object o{Kind::kString, nullptr, text.size()};
  o.value = s_.texts.size();
  s_.texts.append(text);
  const Ref ref = add(o);
  *slot = ref + 1;
  ++s_.strings;
  return ref;
}

BinaryPlistWriter::Ref BinaryPlistWriter::array(std::span<const Ref> items) {
  const size_t first = s_.refs.size();
  s_.refs.insert(s_.refs.end(), items.begin(), items.end());
  return add({Kind::kArray, nullptr, items.size(), first});
}

BinaryPlistWriter::Ref BinaryPlistWriter::dict(std::span<const std::pair<Ref, Ref>> entries) {
  const size_t first = s_.refs.size();
  for (const auto& entry : entries)
    s_.refs.push_back(entry.first);
  for (const auto& entry : entries)
    s_.refs.push_back(entry.second);
  return add({Kind::kDict, nullptr, entries.size(), first});
}

Bytes BinaryPlistWriter::finish(Ref top) {
  KCB_ASSERT(top < s_.objects.size());
  const size_t ref_size = bytes_for(s_.objects.size() - 1);
  out_.assign({'b', 'p', 'l', 'i', 's', 't', '0', '0'});
  // Each object's offset, kept in the refs vector past the containers' references.
  const size_t offsets = s_.refs.size();
  for (const Object& object : s_.objects) {
    s_.refs.push_back(out_.size());
    put_object(object, ref_size);
  }
  const uint64_t table = out_.size();
  const size_t offset_size = bytes_for(s_.refs.back());
  for (size_t i = offsets; i < s_.refs.size(); ++i)
    put_be(s_.refs[i], offset_size);
  // Trailer: 5 unused bytes, the sort version, the two sizes, then three 8-byte numbers.
  out_.insert(out_.end(), 6, 0);
  out_.push_back(static_cast<uint8_t>(offset_size));
  out_.push_back(static_cast<uint8_t>(ref_size));
  put_be(s_.objects.size(), 8);
  put_be(top, 8);
  put_be(table, 8);
  return std::move(out_);  // the working memory is emptied when the writer goes
}

void BinaryPlistWriter::put_be(uint64_t value, size_t bytes) {
  for (size_t i = bytes; i-- > 0;)
    out_.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// A marker with a count in its low nibble, or 0xF and an integer object when it does not fit.
void BinaryPlistWriter::put_marker(uint8_t high, uint64_t count) {
  if (count < 15) {
    out_.push_back(static_cast<uint8_t>(uint64_t{high} << 4 | count));
    return;
  }
  out_.push_back(static_cast<uint8_t>(high << 4 | 0xF));
  const size_t bytes = bytes_for(count);
  const uint8_t log2 = bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3;
  out_.push_back(static_cast<uint8_t>(0x10 | log2));
  put_be(count, bytes);
}

// ASCII text as 0x5n; anything else as UTF-16 big-endian (0x6n, n counting 16-bit units): the two
// string forms CFBinaryPList writes.
void BinaryPlistWriter::put_text(std::string_view text) {
  bool ascii = true;
  for (uint8_t c : as_bytes(text))
    ascii = ascii && c < 0x80;
  if (ascii) {
    put_marker(0x5, text.size());
    out_.insert(out_.end(), text.begin(), text.end());
    return;
  }
  const std::u16string units = utf16_of(text);
  put_marker(0x6, units.size());
  for (char16_t u : units)
    put_be(u, 2);
}

void BinaryPlistWriter::put_object(const Object& object, size_t ref_size) {
  switch (object.kind) {
    case Kind::kBoolean:
      out_.push_back(object.size != 0 ? 0x09 : 0x08);
      break;
    case Kind::kInteger: {
      // A negative value is 8 bytes of two's complement; bytes_for sees it as huge and says 8.
      const size_t n = bytes_for(object.value);
      out_.push_back(static_cast<uint8_t>(0x10 | (n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3)));
      put_be(object.value, n);
      break;
    }
    case Kind::kUid: {
      const size_t n = bytes_for(object.value);
      out_.push_back(static_cast<uint8_t>(0x80 | (n - 1)));
      put_be(object.value, n);
      break;
    }
    case Kind::kDate:
      // CFBinaryPList: marker 0x33, then a big-endian IEEE double, seconds since 2001-01-01.
      out_.push_back(0x33);
      put_be(object.value, 8);
      break;
    case Kind::kData:
      put_marker(0x4, object.size);
      out_.insert(out_.end(), object.bytes, object.bytes + object.size);
      break;
    case Kind::kString:
      put_text(text_of(object));
      break;
    case Kind::kArray:
    case Kind::kDict: {
      const bool is_dict = object.kind == Kind::kDict;
      put_marker(is_dict ? 0xD : 0xA, object.size);
      const size_t refs = object.size * (is_dict ? 2 : 1);
      for (size_t i = 0; i < refs; ++i)
        put_be(s_.refs[object.first_ref + i], ref_size);
      break;
    }
  }
}

namespace {

// Adds a libplist tree to the writer, children first.
class PlistTreeWalker {
 public:
  explicit PlistTreeWalker(BinaryPlistWriter& w) : w_(w) {}

  BinaryPlistWriter::Ref add(plist_t node) {
    switch (plist_get_node_type(node)) {
      case PLIST_BOOLEAN: {
        uint8_t value = 0;
        plist_get_bool_val(node, &value);
        return w_.boolean(value != 0);
      }
      case PLIST_UINT: {
        uint64_t value = 0;
        plist_get_uint_val(node, &value);
        return w_.integer(static_cast<int64_t>(value));
      }
      case PLIST_UID: {
        uint64_t value = 0;
        plist_get_uid_val(node, &value);
        return w_.uid(value);
      }
      case PLIST_DATA: {
        uint64_t length = 0;
        const char* bytes = plist_get_data_ptr(node, &length);
        return w_.data(ByteView(reinterpret_cast<const uint8_t*>(bytes), length));
      }
      case PLIST_STRING: {
        uint64_t length = 0;
        const char* text = plist_get_string_ptr(node, &length);
        return w_.string(std::string_view(text, length));
      }
      case PLIST_ARRAY:
        return add_array(node);
      case PLIST_DICT:
        return add_dict(node);
      default:
        // Our documents hold only these types; a writer for more would be untested code.
        assert_fail("to_binary_plist: node type not written by kcbackup", __FILE__, __LINE__);
        return 0;
    }
  }

 private:
  // Iterated, not indexed: libplist 2.2 may find an array's i-th item by walking its children.
  BinaryPlistWriter::Ref add_array(plist_t node) {
    std::vector<BinaryPlistWriter::Ref> items;
    plist_array_iter it = nullptr;
    plist_array_new_iter(node, &it);
    for (;;) {
      plist_t item = nullptr;
      plist_array_next_item(node, it, &item);
      if (item == nullptr) break;
      items.push_back(add(item));
    }
    std::free(it);
    return w_.array(items);
  }

  BinaryPlistWriter::Ref add_dict(plist_t node) {
    std::vector<std::pair<BinaryPlistWriter::Ref, BinaryPlistWriter::Ref>> entries;
    plist_dict_iter it = nullptr;
    plist_dict_new_iter(node, &it);
    for (;;) {
      char* key = nullptr;
      plist_t value = nullptr;
      plist_dict_next_item(node, it, &key, &value);
      if (key == nullptr) break;
      const BinaryPlistWriter::Ref key_ref = w_.string(key);
      std::free(key);
      entries.emplace_back(key_ref, add(value));
    }
    std::free(it);
    return w_.dict(entries);
  }

  BinaryPlistWriter& w_;
};

}  // namespace

Bytes to_binary_plist(plist_t node) {
  BinaryPlistWriter writer;
  const BinaryPlistWriter::Ref top = PlistTreeWalker(writer).add(node);
  return writer.finish(top);
}

}  // namespace kcb
