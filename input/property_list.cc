#include "input/property_list.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "kcbackup/utf8.h"

namespace kcb {

namespace {

// libplist 2.2 expands every reference of a binary plist into a fresh copy and does not bound
// recursion, so a 200-byte file whose arrays reference each other twice per level expands
// exponentially (it crashes). This walk computes the expanded size from the object table, memoised,
// before libplist sees the bytes. Format: Apple's CFBinaryPList.c (trailer, offset table, markers).
class BinaryPlistShape {
 public:
  BinaryPlistShape(std::string_view b, const PlistLimits& limits) : b_(b), limits_(limits) {}

  Status check() {
    if (b_.size() < 8 + 32 || b_.substr(0, 8) != "bplist00") {
      return Status::Corruption("invalid binary property list: bad header or too short");
    }
    const size_t t = b_.size() - 32;
    offset_size_ = byte_at(t + 6);
    ref_size_ = byte_at(t + 7);
    const uint64_t count = read_be(t + 8, 8);
    const uint64_t root = read_be(t + 16, 8);
    const uint64_t table = read_be(t + 24, 8);
    if (offset_size_ < 1 || offset_size_ > 8 || ref_size_ < 1 || ref_size_ > 8 || count == 0 ||
        count > b_.size() || root >= count || table < 8 || table > t ||
        (t - table) / offset_size_ < count) {
      return Status::Corruption("invalid binary property list: bad trailer");
    }
    table_ = table;
    count_ = count;
    root_ = root;
    cost_.assign(count, kUnknown);
    KCB_ASSIGN_OR_RETURN(uint64_t total, cost_of(root, 0));
    (void)total;
    return Status::Ok();
  }

  // The trailer, once check() passed.
  size_t offset_size() const { return offset_size_; }
  size_t ref_size() const { return ref_size_; }
  uint64_t table() const { return table_; }
  uint64_t root() const { return root_; }

 private:
  static constexpr uint64_t kUnknown = ~uint64_t{0};
  static constexpr size_t kSmallPairs = 16;  // check_small_dictionary's limits
  static constexpr uint64_t kSmallKeyUnits = 64;

  uint8_t byte_at(size_t at) const { return static_cast<uint8_t>(b_[at]); }
  uint64_t read_be(size_t at, size_t n) const {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v = (v << 8) | byte_at(at + i);
    return v;
  }
  Status bad(uint64_t object, std::string_view what) const {
    return Status::Corruption("invalid binary property list: object " + std::to_string(object) +
                              ": " + std::string(what));
  }

  bool has_nul(size_t at, uint64_t bytes, size_t unit) const {
    for (uint64_t i = 0; i + unit <= bytes; i += unit) {
      if (byte_at(at + i) == 0 && (unit == 1 || byte_at(at + i + 1) == 0)) return true;
    }
    return false;
  }

  // The count of an object whose marker's low nibble is 0xF: an int object follows the marker.
  Result<uint64_t> read_count(uint64_t object, size_t& at, uint8_t nibble) const {
    if (nibble != 0xF) return uint64_t{nibble};
    if (at >= table_ || (byte_at(at) >> 4) != 0x1) return bad(object, "bad length marker");
    const size_t n = size_t{1} << (byte_at(at) & 0x3);
    if (table_ - at - 1 < n) return bad(object, "length runs past the object table");
    const uint64_t v = read_be(at + 1, n);
    at += 1 + n;
    return v;
  }

  Result<uint64_t> cost_of(uint64_t object, size_t depth) {
    if (depth > limits_.max_depth) return bad(object, "nested too deep");
    if (cost_[object] != kUnknown) return cost_[object];
    size_t at = static_cast<size_t>(read_be(table_ + object * offset_size_, offset_size_));
    if (at < 8 || at >= table_) return bad(object, "offset outside the object area");
    const uint8_t type = byte_at(at) >> 4;
    const uint8_t nibble = byte_at(at) & 0xF;
    ++at;
    uint64_t cost = 1;
    switch (type) {
      case 0x0:
        break;
      case 0x1:
      case 0x2:
        cost += uint64_t{1} << (nibble & 0x7);
        break;
      case 0x3:
        cost += 8;
        break;
      case 0x8:
        cost += nibble + 1u;
        break;
      case 0x4:
      case 0x5:
      case 0x6: {
        KCB_ASSIGN_OR_RETURN(uint64_t n, read_count(object, at, nibble));
        const uint64_t bytes = type == 0x6 ? 2 * n : n;
        if (n > table_ - at || bytes > table_ - at) {
          return bad(object, "length runs past the object table");
        }
        // libplist asserts (aborts) on a dictionary key with an embedded NUL.
        if (type != 0x4 && has_nul(at, bytes, type == 0x6 ? 2 : 1)) {
          return bad(object, "string with an embedded NUL");
        }
        cost += bytes;
        break;
      }
      case 0xA:
      case 0xC:
      case 0xD: {
        KCB_ASSIGN_OR_RETURN(uint64_t n, read_count(object, at, nibble));
        const uint64_t refs = type == 0xD ? 2 * n : n;
        if (refs > (table_ - at) / ref_size_) return bad(object, "references run past the table");
        for (uint64_t i = 0; i < refs && cost <= limits_.max_expanded; ++i) {
          const uint64_t child = read_be(at + i * ref_size_, ref_size_);
          if (child >= count_) return bad(object, "reference out of range");
          KCB_ASSIGN_OR_RETURN(uint64_t c, cost_of(child, depth + 1));
          cost += c;
        }
        // Only once every key was checked in bounds (the loop stops early past the cap).
        if (type == 0xD && cost <= limits_.max_expanded) {
          KCB_RETURN_IF_ERROR(check_unique_keys(object, at, n));
        }
        break;
      }
      default:
        return bad(object, "unknown marker");
    }
    if (cost > limits_.max_expanded) {
      return Status::ResourceExhausted("binary property list expands past " +
                                       std::to_string(limits_.max_expanded) + " bytes");
    }
    cost_[object] = cost;
    return cost;
  }

  // A string key's units in place: 1 byte each (ASCII, 0x5) or 2 (UTF-16, 0x6). unit 0 marks a key
  // that is not a string (libplist's to refuse); `at` is then its object number.
  struct KeyUnits {
    size_t at = 0;
    uint64_t n = 0;
    size_t unit = 1;
  };
  uint32_t unit_at(const KeyUnits& k, uint64_t i) const {
    return k.unit == 1 ? byte_at(k.at + i)
                       : uint32_t{byte_at(k.at + 2 * i)} << 8 | byte_at(k.at + 2 * i + 1);
  }
  bool same_text(const KeyUnits& a, const KeyUnits& b) const {
    if (a.n != b.n) return false;
    for (uint64_t i = 0; i < a.n; ++i)
      if (unit_at(a, i) != unit_at(b, i)) return false;
    return true;
  }
  // Keys were checked by cost_of already (in bounds).
  KeyUnits key_units(uint64_t key) const {
    size_t at = static_cast<size_t>(read_be(table_ + key * offset_size_, offset_size_));
    const uint8_t type = byte_at(at) >> 4;
    const uint8_t nibble = byte_at(at) & 0xF;
    ++at;
    auto n = read_count(key, at, nibble);
    if (!n.ok() || (type != 0x5 && type != 0x6)) return KeyUnits{static_cast<size_t>(key), 0, 0};
    return KeyUnits{at, *n, type == 0x5 ? size_t{1} : size_t{2}};
  }
  // Text order, unit by unit, so that "keys" is one text in ASCII and in UTF-16; keys that are not
  // strings after every string, by object number. A key object is equal to itself at once: a long
  // key referenced many times costs one step per comparison, not one per unit.
  int compare_keys(const KeyUnits& a, const KeyUnits& b) const {
    if (a.unit == 0 || b.unit == 0) {
      if (a.unit != b.unit) return a.unit == 0 ? 1 : -1;
      return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
    }
    if (a.at == b.at && a.unit == b.unit) return 0;
    for (uint64_t i = 0; i < a.n && i < b.n; ++i) {
      const uint32_t x = unit_at(a, i), y = unit_at(b, i);
      if (x != y) return x < y ? -1 : 1;
    }
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
  }
  // A key's code units as the error shows them: printable ASCII, anything else '?'.
  std::string shown_text(const KeyUnits& k) const {
    if (k.unit == 0) return "(object " + std::to_string(k.at) + ", not a string)";
    std::string shown;
    for (uint64_t u = 0; u < k.n; ++u) {
      const uint32_t c = unit_at(k, u);
      shown.push_back(c < 0x20 || c > 0x7E ? '?' : static_cast<char>(c));
    }
    return shown;
  }

  // A key's text as 32 bits (the top half of FNV-1a 64 over its code units, so that "keys" in
  // ASCII and in UTF-16 agree); a key that is not a string by its object number (it equals only
  // itself).
  uint32_t fingerprint(const KeyUnits& k) const {
    uint64_t h = 0xcbf29ce484222325u;
    const auto mix = [&h](uint64_t v) { h = (h ^ v) * 0x100000001b3u; };
    if (k.unit == 0) {
      mix(0x1'0000'0000u);
      mix(k.at);
    } else {
      for (uint64_t i = 0; i < k.n; ++i)
        mix(unit_at(k, i));
    }
    const unsigned bits = std::min(limits_.key_fingerprint_bits, 32u);
    return bits == 0 ? 0 : static_cast<uint32_t>(h >> (64 - bits));
  }

  // libplist keeps both entries of a dictionary with a repeated key, and readers that look keys up
  // or iterate would then see one field twice (a flipped bit in an archive's key references made
  // its cert array read as the keys array: the items changed class). Refused here, once per
  // dictionary object. The keys are put in order of their fingerprints by a radix sort (linear,
  // in sequential passes over 8 bytes a key: a sort by text compared keys scattered over the whole
  // file, n log n times), and only keys that share a fingerprint are compared: two directly, more
  // (a file made to collide) sorted by text, so that the worst case stays n log n.
  Status check_unique_keys(uint64_t object, size_t at, uint64_t pairs) {
    if (pairs <= kSmallPairs) {
      std::optional<Status> small = check_small_dictionary(object, at, pairs);
      if (small) return *small;
    }
    KCB_ASSERT(pairs <= UINT32_MAX);  // a pair takes two references: at most kMaxPlistBytes / 2
    const auto key_at = [&](uint32_t i) {
      return key_units(read_be(at + i * ref_size_, ref_size_));
    };
    prints_.clear();
    for (uint32_t i = 0; i < pairs; ++i)
      prints_.push_back({fingerprint(key_at(i)), i});
    radix_sort_prints();
    for (size_t start = 0, end = 0; start < prints_.size(); start = end) {
      for (end = start + 1; end < prints_.size() && prints_[end].fp == prints_[start].fp; ++end) {
      }
      if (end - start < 2) continue;
      run_.clear();
      for (size_t i = start; i < end; ++i)
        run_.push_back(key_at(prints_[i].index));
      if (run_.size() > 2) {
        std::sort(run_.begin(), run_.end(),
                  [this](const KeyUnits& a, const KeyUnits& b) { return compare_keys(a, b) < 0; });
      }
      for (size_t i = 1; i < run_.size(); ++i) {
        if (compare_keys(run_[i - 1], run_[i]) == 0) {
          return repeated_key(object, shown_text(run_[i]));
        }
      }
    }
    return Status::Ok();
  }

  // LSD radix sort of prints_ by fingerprint, a byte per pass; a pass in which every fingerprint
  // has the same byte is skipped (all of them when the bits are 0).
  void radix_sort_prints() {
    sorted_.resize(prints_.size());
    for (unsigned shift = 0; shift < 32; shift += 8) {
      std::array<size_t, 257> start{};
      for (const KeyPrint& p : prints_)
        ++start[((p.fp >> shift) & 0xFF) + 1];
      if (std::find(start.begin() + 1, start.end(), prints_.size()) != start.end()) continue;
      for (size_t b = 1; b < start.size(); ++b)
        start[b] += start[b - 1];
      for (const KeyPrint& p : prints_)
        sorted_[start[(p.fp >> shift) & 0xFF]++] = p;
      prints_.swap(sorted_);
    }
  }

  // Most dictionaries are small with short keys (an MBFile record's, an archived item's): their
  // keys are compared pairwise where they lie, at most 120 comparisons of at most 64 units, with
  // nothing to sort (per record, sorting cost more than the rest of the check). Nothing when a key
  // is long or not a string: the sort then decides.
  std::optional<Status> check_small_dictionary(uint64_t object, size_t at, uint64_t pairs) const {
    std::array<KeyUnits, kSmallPairs> keys;
    for (uint64_t i = 0; i < pairs; ++i) {
      keys[i] = key_units(read_be(at + i * ref_size_, ref_size_));
      if (keys[i].unit == 0 || keys[i].n > kSmallKeyUnits) return std::nullopt;
      for (uint64_t j = 0; j < i; ++j) {
        if (same_text(keys[j], keys[i])) return repeated_key(object, shown_text(keys[i]));
      }
    }
    return Status::Ok();
  }

  Status repeated_key(uint64_t object, const std::string& shown) const {
    return Status::Corruption("invalid binary property list: object " + std::to_string(object) +
                              ": dictionary key '" + shown + "' appears twice");
  }

  std::string_view b_;
  size_t offset_size_ = 0, ref_size_ = 0;
  uint64_t table_ = 0, count_ = 0, root_ = 0;
  std::vector<uint64_t> cost_;
  PlistLimits limits_;
  // check_unique_keys' scratch, kept across dictionaries.
  struct KeyPrint {
    uint32_t fp = 0;
    uint32_t index = 0;  // the key's position in its dictionary
  };
  std::vector<KeyUnits> run_;
  std::vector<KeyPrint> prints_, sorted_;
};

// XML allows no NUL, but libplist keeps a raw NUL byte inside a <string>, which text consumers
// and our writers (through c_str()) would cut there; and it decodes numeric character references,
// where one that decodes to NUL inside a key aborts it.
Status check_xml_nul(std::string_view text) {
  if (const size_t at = text.find('\0'); at != std::string_view::npos) {
    return Status::Corruption("XML property list: a NUL byte at byte " + std::to_string(at));
  }
  for (size_t i = text.find("&#"); i != std::string_view::npos; i = text.find("&#", i + 2)) {
    size_t j = i + 2;
    const bool hex = j < text.size() && (text[j] == 'x' || text[j] == 'X');
    if (hex) ++j;
    bool nonzero = false;
    size_t digits = 0;
    for (; j < text.size() && std::isxdigit(static_cast<unsigned char>(text[j])); ++j, ++digits) {
      nonzero = nonzero || text[j] != '0';
    }
    if (digits > 0 && !nonzero) {
      return Status::Corruption("XML property list: a character reference to NUL at byte " +
                                std::to_string(i));
    }
  }
  return Status::Ok();
}

// True when `tag` (the text after '<') starts with `name` ending the tag's name: "dict>",
// "dict >" and "dict\tattr=..>" all name a dict (libplist accepts them), "dictionary>" does not.
bool names_element(std::string_view tag, std::string_view name) {
  if (!tag.starts_with(name) || tag.size() == name.size()) return false;
  const char next = tag[name.size()];
  return next == '>' || next == ' ' || next == '\t' || next == '\n' || next == '\r';
}

// An element that contains others: self-closing "<dict/>" holds nothing and does not nest.
bool opens_container(std::string_view tag) {
  if (!names_element(tag, "array") && !names_element(tag, "dict")) return false;
  const size_t end = tag.find('>');
  return end == std::string_view::npos || end == 0 || tag[end - 1] != '/';
}

Status check_xml_nesting(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  for (size_t i = text.find('<'); i != std::string_view::npos; i = text.find('<', i + 1)) {
    const std::string_view tag = text.substr(i + 1);
    const bool opens = opens_container(tag);
    const bool closes = names_element(tag, "/array") || names_element(tag, "/dict");
    if (opens) ++depth;
    if (closes && depth > 0) --depth;
    if (depth > max_depth) {
      return Status::ResourceExhausted("property list nested deeper than " +
                                       std::to_string(max_depth) + " at byte " + std::to_string(i));
    }
  }
  return Status::Ok();
}

std::string_view text_of(ByteView bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// What every document passes before anything reads it (parse_plist, BinaryPlist::parse). A binary
// one's checked shape is left in `binary`.
Status check_document(ByteView bytes, std::string_view what, const PlistLimits& limits,
                      std::optional<BinaryPlistShape>* binary) {
  if (bytes.size() > kMaxPlistBytes) {
    return Status::ResourceExhausted(std::string(what) + ": " + std::to_string(bytes.size()) +
                                     " bytes is over the cap of " + std::to_string(kMaxPlistBytes));
  }
  if (bytes.empty()) return Status::Corruption(std::string(what) + ": empty file");
  const std::string_view text = text_of(bytes);
  if (text.starts_with("bplist")) {
    PlistLimits bounded = limits;
    // A legitimate document expands to about its own size; the cap stops reference bombs.
    if (bounded.max_expanded == 0) bounded.max_expanded = 4 * uint64_t{bytes.size()} + (64 << 10);
    return binary->emplace(text, bounded).check().with_context(what);
  }
  KCB_RETURN_IF_ERROR(check_xml_nesting(text, limits.max_depth).with_context(what));
  return check_xml_nul(text).with_context(what);
}

}  // namespace

Result<PlistPtr> parse_plist(ByteView bytes, std::string_view what, const PlistLimits& limits) {
  std::optional<BinaryPlistShape> binary;
  KCB_RETURN_IF_ERROR(check_document(bytes, what, limits, &binary));
  plist_t root = nullptr;
  plist_from_memory(reinterpret_cast<const char*>(bytes.data()),
                    static_cast<uint32_t>(bytes.size()), &root);
  if (root == nullptr) {
    return Status::Corruption(std::string(what) +
                              ": not a property list (neither binary nor XML could be parsed)");
  }
  return PlistPtr(root);
}

namespace {
Bytes take_plist_buffer(char* buf, uint32_t len, void (*release)(char*)) {
  Bytes out(reinterpret_cast<uint8_t*>(buf), reinterpret_cast<uint8_t*>(buf) + len);
  release(buf);
  return out;
}
}  // namespace

Bytes to_xml_plist(plist_t node) {
  char* buf = nullptr;
  uint32_t len = 0;
  plist_to_xml(node, &buf, &len);
  KCB_ASSERT(buf != nullptr);
  return take_plist_buffer(buf, len, plist_to_xml_free);
}

namespace {

std::string_view type_name_of(plist_type type) {
  switch (type) {
    case PLIST_BOOLEAN:
      return "a boolean";
    case PLIST_UINT:
      return "an integer";
    case PLIST_REAL:
      return "a real";
    case PLIST_STRING:
      return "a string";
    case PLIST_ARRAY:
      return "an array";
    case PLIST_DICT:
      return "a dictionary";
    case PLIST_DATE:
      return "a date";
    case PLIST_DATA:
      return "data";
    case PLIST_KEY:
      return "a key";
    case PLIST_UID:
      return "a UID";
    default:
      return "an unknown node";
  }
}

Status type_error(std::string_view path, plist_type expected_type, std::string_view found) {
  static constexpr std::string_view kExpected[] = {
      "a boolean",    "an integer", "a real", "a string", "an array",
      "a dictionary", "a date",     "data",   "a key",    "a UID"};
  const std::string_view expected = static_cast<size_t>(expected_type) < std::size(kExpected)
                                        ? kExpected[expected_type]
                                        : "another type";
  return Status::Corruption(std::string(path) + ": expected " + std::string(expected) + ", found " +
                            std::string(found));
}

}  // namespace

std::string_view plist_type_name(plist_t node) {
  if (node == nullptr) return "nothing";
  return type_name_of(plist_get_node_type(node));
}

Status expect_plist_type(plist_t node, plist_type type, std::string_view path) {
  if (node != nullptr && plist_get_node_type(node) == type) return Status::Ok();
  return type_error(path, type, plist_type_name(node));
}

Result<ByteView> plist_data(plist_t node, std::string_view path) {
  KCB_RETURN_IF_ERROR(expect_plist_type(node, PLIST_DATA, path));
  uint64_t len = 0;
  const char* ptr = plist_get_data_ptr(node, &len);
  return ByteView(reinterpret_cast<const uint8_t*>(ptr), len);
}

Result<std::string_view> plist_string(plist_t node, std::string_view path) {
  KCB_RETURN_IF_ERROR(expect_plist_type(node, PLIST_STRING, path));
  uint64_t len = 0;
  const char* ptr = plist_get_string_ptr(node, &len);
  const std::string_view text(ptr, len);
  // Every consumer expects text. A NUL, which our writers' c_str() would cut at, cannot be here:
  // parse_plist refused it in binary strings and anywhere in XML.
  if (!is_valid_utf8(text)) {
    return Status::Corruption(std::string(path) + ": not valid UTF-8 text");
  }
  return text;
}

namespace {
struct FreeIter {
  void operator()(void* iter) const { std::free(iter); }
};
}  // namespace

Status for_each_plist_item(plist_t array, std::string_view path,
                           const std::function<Status(size_t, plist_t)>& f) {
  KCB_RETURN_IF_ERROR(expect_plist_type(array, PLIST_ARRAY, path));
  plist_array_iter raw = nullptr;
  plist_array_new_iter(array, &raw);
  const std::unique_ptr<void, FreeIter> iter(raw);
  for (size_t index = 0;; ++index) {
    plist_t item = nullptr;
    plist_array_next_item(array, raw, &item);
    if (item == nullptr) return Status::Ok();
    KCB_RETURN_IF_ERROR(f(index, item));
  }
}

Status for_each_plist_entry(plist_t dict, std::string_view path,
                            const std::function<Status(std::string_view, plist_t)>& f) {
  KCB_RETURN_IF_ERROR(expect_plist_type(dict, PLIST_DICT, path));
  plist_dict_iter raw = nullptr;
  plist_dict_new_iter(dict, &raw);
  const std::unique_ptr<void, FreeIter> iter(raw);
  for (;;) {
    char* raw_key = nullptr;
    plist_t value = nullptr;
    plist_dict_next_item(dict, raw, &raw_key, &value);
    if (raw_key == nullptr) return Status::Ok();
    const std::unique_ptr<char, FreeIter> key(raw_key);
    if (value == nullptr) return Status::Corruption(std::string(path) + ": a key with no value");
    KCB_RETURN_IF_ERROR(f(std::string_view(key.get()), value));
  }
}

Result<bool> plist_bool(plist_t node, std::string_view path) {
  KCB_RETURN_IF_ERROR(expect_plist_type(node, PLIST_BOOLEAN, path));
  uint8_t value = 0;
  plist_get_bool_val(node, &value);
  return value != 0;
}

// ---- BinaryPlist: the checked bytes read in place ----

namespace {

uint64_t be_at(std::string_view b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

// UTF-16BE code units as UTF-8. A lone surrogate keeps its own three-byte form, which is not
// valid UTF-8: such a key matches no name, and a reader that shows it says it is not text.
void append_utf16_as_utf8(std::string_view units, std::string& out) {
  for (size_t i = 0; i + 1 < units.size(); i += 2) {
    uint32_t c = static_cast<uint32_t>(be_at(units, i, 2));
    if (c >= 0xD800 && c <= 0xDBFF && i + 3 < units.size()) {
      const uint32_t low = static_cast<uint32_t>(be_at(units, i + 2, 2));
      if (low >= 0xDC00 && low <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        i += 2;
      }
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
}

}  // namespace

bool BinaryPlist::is_binary(ByteView bytes) {
  return text_of(bytes).starts_with("bplist");
}

Result<BinaryPlist> BinaryPlist::parse(ByteView bytes, std::string_view what,
                                       const PlistLimits& limits) {
  if (!is_binary(bytes)) {
    return Status::InvalidArgument(std::string(what) + ": not a binary property list");
  }
  std::optional<BinaryPlistShape> shape;
  KCB_RETURN_IF_ERROR(check_document(bytes, what, limits, &shape));
  return BinaryPlist(text_of(bytes), shape->offset_size(), shape->ref_size(), shape->table(),
                     shape->root());
}

size_t BinaryPlist::start_of(Node n) const {
  return static_cast<size_t>(be_at(b_, table_ + n * offset_size_, offset_size_));
}

uint8_t BinaryPlist::marker(Node n) const {
  return static_cast<uint8_t>(b_[start_of(n)]);
}

// Where the object's payload starts and its count (the checked shape guarantees both).
BinaryPlist::Container BinaryPlist::container(Node n) const {
  size_t at = start_of(n);
  const uint8_t nibble = static_cast<uint8_t>(b_[at]) & 0xF;
  ++at;
  uint64_t count = nibble;
  if (nibble == 0xF) {
    const size_t len = size_t{1} << (static_cast<uint8_t>(b_[at]) & 0x3);
    count = be_at(b_, at + 1, len);
    at += 1 + len;
  }
  return Container{at, count};
}

BinaryPlist::Node BinaryPlist::ref_at(size_t at) const {
  return be_at(b_, at, ref_size_);
}

plist_type BinaryPlist::type(Node n) const {
  const uint8_t m = marker(n);
  switch (m >> 4) {
    case 0x0:
      return m == 0x08 || m == 0x09 ? PLIST_BOOLEAN : PLIST_NONE;
    case 0x1:
      return PLIST_UINT;
    case 0x2:
      return PLIST_REAL;
    case 0x3:
      return PLIST_DATE;
    case 0x4:
      return PLIST_DATA;
    case 0x5:
    case 0x6:
      return PLIST_STRING;
    case 0x8:
      return PLIST_UID;
    case 0xA:
    case 0xC:
      return PLIST_ARRAY;
    case 0xD:
      return PLIST_DICT;
    default:
      return PLIST_NONE;
  }
}

std::string_view BinaryPlist::type_name(Node n) const {
  return type_name_of(type(n));
}

Status BinaryPlist::expect_type(Node n, plist_type t, std::string_view path) const {
  if (type(n) == t) return Status::Ok();
  return type_error(path, t, type_name(n));
}

Result<ByteView> BinaryPlist::data(Node n, std::string_view path) const {
  KCB_RETURN_IF_ERROR(expect_type(n, PLIST_DATA, path));
  const Container c = container(n);
  return ByteView(reinterpret_cast<const uint8_t*>(b_.data()) + c.refs, c.n);
}

Result<std::string> BinaryPlist::string(Node n, std::string_view path) const {
  KCB_RETURN_IF_ERROR(expect_type(n, PLIST_STRING, path));
  std::string scratch;
  KCB_ASSIGN_OR_RETURN(std::string_view text, key_text(n, path, scratch));
  // As plist_string: every consumer expects text.
  if (!is_valid_utf8(text)) return Status::Corruption(std::string(path) + ": not valid UTF-8 text");
  return std::string(text);
}

// An ASCII string's bytes as they are (libplist hands a key's bytes over unchecked too: readers
// that show a key check it), a UTF-16 one converted.
Result<std::string_view> BinaryPlist::key_text(Node key, std::string_view path,
                                               std::string& scratch) const {
  const Container c = container(key);
  if (marker(key) >> 4 == 0x5) return b_.substr(c.refs, c.n);
  if (marker(key) >> 4 != 0x6) {
    return Status::Corruption(std::string(path) + ": a dictionary key that is not a string");
  }
  scratch.clear();
  append_utf16_as_utf8(b_.substr(c.refs, 2 * c.n), scratch);
  return std::string_view(scratch);
}

Result<bool> BinaryPlist::boolean(Node n, std::string_view path) const {
  KCB_RETURN_IF_ERROR(expect_type(n, PLIST_BOOLEAN, path));
  return marker(n) == 0x09;
}

std::optional<int32_t> BinaryPlist::date_seconds(Node n) const {
  if (type(n) != PLIST_DATE) return std::nullopt;
  const size_t at = start_of(n) + 1;
  if (table_ - at < 8) return std::nullopt;  // the shape check does not bound scalars
  const uint64_t bits = be_at(b_, at, 8);
  double seconds = 0;
  static_assert(sizeof seconds == sizeof bits);
  std::memcpy(&seconds, &bits, sizeof seconds);
  // (int32_t) of a double out of int32's range is undefined in C; libplist does it anyway, and
  // x86-64's conversion instruction gives INT32_MIN for every such value and for NaN.
  if (!(seconds > -2147483649.0 && seconds < 2147483648.0)) return INT32_MIN;
  return static_cast<int32_t>(seconds);
}

namespace {
// The payload of a scalar object (an integer, a UID): `width` bytes after its marker, inside the
// object area (the shape check bounds only containers and strings).
Status check_scalar(size_t at, size_t width, size_t area_end, std::string_view path,
                    std::string_view what) {
  if (area_end - at >= width) return Status::Ok();
  return Status::Corruption(std::string(path) + ": " + std::string(what) +
                            " runs past the object table");
}
}  // namespace

Result<uint64_t> BinaryPlist::integer_bits(Node n, std::string_view path) const {
  KCB_RETURN_IF_ERROR(expect_type(n, PLIST_UINT, path));
  const size_t at = start_of(n) + 1;
  const size_t width = size_t{1} << (marker(n) & 0xF);
  if (width > 16) {
    return Status::Corruption(std::string(path) + ": an integer of " + std::to_string(width) +
                              " bytes");
  }
  KCB_RETURN_IF_ERROR(check_scalar(at, width, table_, path, "an integer"));
  return be_at(b_, width == 16 ? at + 8 : at, std::min<size_t>(width, 8));
}

Result<uint64_t> BinaryPlist::uid(Node n, std::string_view path) const {
  KCB_RETURN_IF_ERROR(expect_type(n, PLIST_UID, path));
  const size_t at = start_of(n) + 1;
  const size_t width = (marker(n) & 0xF) + size_t{1};
  KCB_RETURN_IF_ERROR(check_scalar(at, width, table_, path, "a UID"));
  // As libplist: the last eight of more bytes, and at most 2^32 - 1.
  const uint64_t index = be_at(b_, width > 8 ? at + width - 8 : at, std::min<size_t>(width, 8));
  if (index > UINT32_MAX) {
    return Status::Corruption(std::string(path) + ": UID " + std::to_string(index) +
                              " past 2^32 - 1");
  }
  return index;
}

size_t BinaryPlist::count(Node n) const {
  const plist_type t = type(n);
  if (t != PLIST_ARRAY && t != PLIST_DICT) return 0;
  return static_cast<size_t>(container(n).n);
}

std::optional<BinaryPlist::Node> BinaryPlist::dict_get(Node dict, std::string_view key) const {
  if (type(dict) != PLIST_DICT) return std::nullopt;
  const Container c = container(dict);
  std::string scratch;
  for (uint64_t i = 0; i < c.n; ++i) {
    auto text = key_text(ref_at(c.refs + i * ref_size_), "", scratch);
    if (text.ok() && *text == key) return ref_at(c.refs + (c.n + i) * ref_size_);
  }
  return std::nullopt;
}

Status BinaryPlist::for_each_item(Node array, std::string_view path,
                                  const std::function<Status(size_t, Node)>& f) const {
  KCB_RETURN_IF_ERROR(expect_type(array, PLIST_ARRAY, path));
  const Container c = container(array);
  for (uint64_t i = 0; i < c.n; ++i)
    KCB_RETURN_IF_ERROR(f(static_cast<size_t>(i), ref_at(c.refs + i * ref_size_)));
  return Status::Ok();
}

Status BinaryPlist::for_each_entry(Node dict, std::string_view path,
                                   const std::function<Status(std::string_view, Node)>& f) const {
  KCB_RETURN_IF_ERROR(expect_type(dict, PLIST_DICT, path));
  const Container c = container(dict);
  std::string scratch;
  for (uint64_t i = 0; i < c.n; ++i) {
    KCB_ASSIGN_OR_RETURN(std::string_view key,
                         key_text(ref_at(c.refs + i * ref_size_), path, scratch));
    KCB_RETURN_IF_ERROR(f(key, ref_at(c.refs + (c.n + i) * ref_size_)));
  }
  return Status::Ok();
}

}  // namespace kcb
