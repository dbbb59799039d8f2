// Apple's DER property-list subset ("der_plist"), the encoding of a keychain item's attributes and
// secret. Contract:
//   - encode_der writes canonical bytes: minimal lengths, minimal INTEGERs, true as 0x01, dates as
//     GeneralizedTime without trailing fraction zeros, dictionary entries sorted by their encoded
//     bytes (memcmp, shorter first).
//   - decode_der accepts canonical bytes only, so for every input it accepts,
//     encode_der(decode_der(x)) == x byte for byte. Every rejection is a Status naming the rule and
//     the byte offset where it broke ("der: offset 17: non-minimal length"); caps on input size,
//     nesting depth and element count are ResourceExhausted. Nothing is allocated from a length
//     before that length is checked against the bytes actually present.
// docs/der.md states the subset, every strictness rule and the date choice.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"
#include "kcbackup/utf8.h"

namespace kcb {

// In the order of DerValue::Variant's alternatives.
enum class DerKind : uint8_t {
  kNull,
  kBoolean,
  kInteger,
  kString,
  kData,
  kDate,
  kArray,
  kDictionary
};
std::string_view der_kind_name(DerKind kind);  // "null", "boolean", ..., "dictionary"

struct DerNull {
  bool operator==(const DerNull&) const = default;
};

// A GeneralizedTime at millisecond precision, years 0000..9999 (proleptic Gregorian, UTC).
struct DerDate {
  int64_t unix_millis = 0;
  auto operator<=>(const DerDate&) const = default;
};
inline DerDate der_date_from_unix_seconds(int64_t seconds) {
  return DerDate{seconds * 1000};
}
// "2024-05-01T12:00:00.000Z"; a date outside years 0000..9999 (no decoder accepts one) as "N ms".
std::string der_date_text(DerDate date);

class DerValue;
struct DerEntry;
using DerArray = std::vector<DerValue>;

// A dictionary with unique UTF-8 keys, kept sorted by key (bytewise) so that lookups are binary
// searches and equality ignores insertion order. The wire order (by encoded entry) is the
// encoder's business.
class DerDict {
 public:
  DerDict();
  DerDict(const DerDict&);
  DerDict(DerDict&&) noexcept;
  DerDict& operator=(const DerDict&);
  DerDict& operator=(DerDict&&) noexcept;
  ~DerDict();

  size_t size() const;  // defined below, once DerEntry is complete (clang insists)
  bool empty() const;
  const DerValue* find(std::string_view key) const;
  DerValue* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Inserts or replaces.
  void set(std::string_view key, DerValue value);
  // False when the key was absent.
  bool erase(std::string_view key);
  // Sorted by key, bytewise.
  const std::vector<DerEntry>& entries() const { return entries_; }

  bool operator==(const DerDict& other) const;

 private:
  friend class DerDecoder;
  std::vector<DerEntry> entries_;
};

class DerValue {
 public:
  using Variant =
      std::variant<DerNull, bool, int64_t, std::string, Bytes, DerDate, DerArray, DerDict>;

  DerValue() = default;  // null
  static DerValue Null() { return DerValue(); }
  static DerValue Boolean(bool b) { return DerValue(Variant(std::in_place_type<bool>, b)); }
  static DerValue Integer(int64_t i) { return DerValue(Variant(std::in_place_type<int64_t>, i)); }
  static DerValue String(std::string s) {
    return DerValue(Variant(std::in_place_type<std::string>, std::move(s)));
  }
  static DerValue Data(Bytes b) {
    return DerValue(Variant(std::in_place_type<Bytes>, std::move(b)));
  }
  static DerValue Data(ByteView b) { return Data(Bytes(b.begin(), b.end())); }
  static DerValue Date(DerDate d) { return DerValue(Variant(std::in_place_type<DerDate>, d)); }
  static DerValue Array(DerArray a) {
    return DerValue(Variant(std::in_place_type<DerArray>, std::move(a)));
  }
  static DerValue Dictionary(DerDict d) {
    return DerValue(Variant(std::in_place_type<DerDict>, std::move(d)));
  }

  DerKind kind() const { return static_cast<DerKind>(v_.index()); }
  // Each returns nullptr when the value is of another kind.
  const bool* as_boolean() const { return std::get_if<bool>(&v_); }
  const int64_t* as_integer() const { return std::get_if<int64_t>(&v_); }
  const std::string* as_string() const { return std::get_if<std::string>(&v_); }
  const Bytes* as_data() const { return std::get_if<Bytes>(&v_); }
  Bytes* as_data() { return std::get_if<Bytes>(&v_); }
  const DerDate* as_date() const { return std::get_if<DerDate>(&v_); }
  const DerArray* as_array() const { return std::get_if<DerArray>(&v_); }
  DerArray* as_array() { return std::get_if<DerArray>(&v_); }
  const DerDict* as_dictionary() const { return std::get_if<DerDict>(&v_); }
  DerDict* as_dictionary() { return std::get_if<DerDict>(&v_); }

  const Variant& variant() const { return v_; }
  Variant& variant() { return v_; }

  bool operator==(const DerValue& other) const { return v_ == other.v_; }

 private:
  explicit DerValue(Variant v) : v_(std::move(v)) {}
  Variant v_;
};

struct DerEntry {
  std::string key;
  DerValue value;
  bool operator==(const DerEntry&) const = default;
};

inline size_t DerDict::size() const {
  return entries_.size();
}
inline bool DerDict::empty() const {
  return entries_.empty();
}

// Caps for hostile input. The defaults fit any real keychain item with a wide margin.
struct DerLimits {
  size_t max_input_bytes = size_t{4} << 20;  // ResourceExhausted beyond (checked first)
  int max_depth = 32;                        // containers nested deeper are ResourceExhausted
  size_t max_elements = size_t{1} << 16;     // every tag-length-value counts, keys included
};

// Decodes one value that must span all of `der`.
Result<DerValue> decode_der(ByteView der, const DerLimits& limits = {});
// The same, but the top-level value must be a dictionary (an item's attribute dictionary).
Result<DerDict> decode_der_dictionary(ByteView der, const DerLimits& limits = {});

// Appends the canonical encoding of `value` to *out. InvalidArgument for a value no decoder would
// accept back: a string that is not UTF-8, a date outside years 0000..9999, nesting deeper than
// limits.max_depth. On error *out may hold a partial encoding.
Status encode_der(const DerValue& value, Bytes* out, const DerLimits& limits = {});
Status encode_der_dictionary(const DerDict& dict, Bytes* out, const DerLimits& limits = {});
// The encoding of `dict` with one more entry, without copying the dictionary (an item's attributes
// and its secret). InvalidArgument when dict already holds extra.key.
Status encode_der_dictionary_with(const DerDict& dict, const DerEntry& extra, Bytes* out,
                                  const DerLimits& limits = {});
Result<Bytes> encode_der(const DerValue& value, const DerLimits& limits = {});

// A value for people on one line: strings quoted and printable_text'ed, data as <hex>, dates as
// der_date_text, containers as [a, b] and {key: value}.
std::string der_value_text(const DerValue& value);

}  // namespace kcb
