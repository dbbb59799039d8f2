// A thin, safe layer over libplist: owned nodes, parsing with a size cap, and typed getters whose
// errors name the path of the offending node ("Manifest.plist: Lockdown.UniqueDeviceID: expected
// a string, found data"). Used by the archive and bundle readers and writers.
#pragma once

#include <plist/plist.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb {

struct PlistFree {
  void operator()(void* node) const { plist_free(static_cast<plist_t>(node)); }
};
using PlistPtr = std::unique_ptr<void, PlistFree>;

// Larger documents are refused before libplist sees them.
inline constexpr size_t kMaxPlistBytes = size_t{1} << 30;

// libplist 2.2 copies an object once per reference and recurses without a bound, so a few hundred
// hostile bytes can expand exponentially or overflow the stack. parse_plist walks a binary plist's
// object table (memoised) and an XML plist's nesting before libplist sees the bytes.
struct PlistLimits {
  size_t max_depth = 16;
  uint64_t max_expanded = 0;  // expanded size in bytes; 0: 4x the input plus 64 KiB
  // How many bits of a key's 32-bit fingerprint the repeated-key check of a large dictionary
  // sorts by (property_list.cc). Fewer make keys collide on purpose: tests set 0 so that every key
  // shares one fingerprint and the check sorts by text alone, its worst case.
  unsigned key_fingerprint_bits = 32;
};

// Parses XML or binary property-list bytes. `what` names the document in errors.
Result<PlistPtr> parse_plist(ByteView bytes, std::string_view what, const PlistLimits& limits = {});
// Deterministic: the bytes depend on the tree only (engine/binary_plist_writer.cc says why this is
// not libplist's writer). Writes dictionaries, arrays, strings, data and booleans. The engine
// writes its own files straight from their structs (BinaryPlistWriter); this tree form lets tests
// edit a parsed document and write it back (how they forge malformed files).
Bytes to_binary_plist(plist_t node);
Bytes to_xml_plist(plist_t node);

std::string_view plist_type_name(plist_t node);  // "string", "data", "dict", ... or "nothing"

// Typed getters: `path` is how the node is named in an error message.
Result<ByteView> plist_data(plist_t node, std::string_view path);
Result<std::string_view> plist_string(plist_t node, std::string_view path);
Result<bool> plist_bool(plist_t node, std::string_view path);
Status expect_plist_type(plist_t node, plist_type type, std::string_view path);

// Linear iteration. libplist 2.2 keeps no index for a parsed container: plist_array_get_item(a, i)
// walks the list from its start (a loop over i is quadratic: 45 s for a 200,000-entry archive) and
// plist_dict_get_item walks a parsed dictionary. Every loop over the entries of counted input goes
// through these two, one plist_*_next_item per step. Each stops at the first error `f` returns.
// `array` / `dict` must be of that type (checked: Corruption naming `path` otherwise).
Status for_each_plist_item(plist_t array, std::string_view path,
                           const std::function<Status(size_t index, plist_t item)>& f);
Status for_each_plist_entry(plist_t dict, std::string_view path,
                            const std::function<Status(std::string_view key, plist_t value)>& f);

// A binary property list read in place, without libplist's tree: parse() applies parse_plist's
// checks (the size cap and the walk of the whole object table: every object and reference in
// bounds, nesting and expansion bounded, no NUL in a string, no dictionary key twice), and the
// getters then read objects straight from the bytes, which must outlive this view. Types, paths
// and messages are the tree getters' above. For large documents whose entries are only copied out
// (the keychain archive): no node, key copy or blob copy per entry, and nothing to free after.
// Unlike libplist it does not refuse objects it is never asked for (a null, a 16-byte integer):
// what is read is typed; a dictionary with a key that is not a string is refused when read.
class BinaryPlist {
 public:
  using Node = uint64_t;  // an object number

  static bool is_binary(ByteView bytes);
  static Result<BinaryPlist> parse(ByteView bytes, std::string_view what,
                                   const PlistLimits& limits = {});

  Node root() const { return root_; }
  // libplist's type of the object (sets read as arrays); PLIST_NONE for a null or fill object.
  plist_type type(Node n) const;
  std::string_view type_name(Node n) const;
  Status expect_type(Node n, plist_type type, std::string_view path) const;
  Result<ByteView> data(Node n, std::string_view path) const;
  // UTF-8 text: an ASCII string's bytes (checked as UTF-8, as plist_string does), a UTF-16 one
  // converted.
  Result<std::string> string(Node n, std::string_view path) const;
  // A boolean's value (type-checked like data and string).
  Result<bool> boolean(Node n, std::string_view path) const;
  // A date's seconds as libplist 2.2's plist_get_date_val hands them over: the 8-byte float of
  // seconds since 2001-01-01 converted to int32 toward zero (INT32_MIN, what x86-64 gives for a
  // value out of range or NaN). nullopt for an object of another type, or one whose eight bytes
  // run past the object area.
  std::optional<int32_t> date_seconds(Node n) const;
  // An integer's 64 bits as libplist hands them over: 1, 2, 4 or 8 big-endian bytes, or the low
  // 8 of 16. Corruption for a wider one or one that runs past the object area (libplist refuses
  // the whole document for either).
  Result<uint64_t> integer_bits(Node n, std::string_view path) const;
  // An NSKeyedArchiver UID's index as libplist reads it: 1 to 16 big-endian bytes, of which the
  // last 8 count; Corruption past 2^32 - 1 (libplist refuses the whole document).
  Result<uint64_t> uid(Node n, std::string_view path) const;
  // The items of an array, or the entries of a dictionary; 0 for any other object.
  size_t count(Node n) const;
  // The value of the first entry whose key is `key`; nullopt when none (or `dict` is no dict).
  std::optional<Node> dict_get(Node dict, std::string_view key) const;
  // Linear, in document order, stopping at the first error of `f`.
  Status for_each_item(Node array, std::string_view path,
                       const std::function<Status(size_t index, Node item)>& f) const;
  Status for_each_entry(Node dict, std::string_view path,
                        const std::function<Status(std::string_view key, Node value)>& f) const;

 private:
  // An object's count and where its payload starts: the references of an array or dictionary,
  // the bytes of data or of an ASCII string, the units of a UTF-16 one.
  struct Container {
    size_t refs = 0;
    uint64_t n = 0;  // items, pairs of a dictionary, bytes, or units
  };
  BinaryPlist(std::string_view b, size_t offset_size, size_t ref_size, uint64_t table, Node root)
      : b_(b), offset_size_(offset_size), ref_size_(ref_size), table_(table), root_(root) {}
  size_t start_of(Node n) const;
  uint8_t marker(Node n) const;
  Container container(Node n) const;  // the shape check made every count readable
  Node ref_at(size_t at) const;
  // A key's text: the bytes of an ASCII key in place, a UTF-16 one converted into `scratch`.
  Result<std::string_view> key_text(Node key, std::string_view path, std::string& scratch) const;

  std::string_view b_;
  size_t offset_size_ = 0, ref_size_ = 0;
  uint64_t table_ = 0;
  Node root_ = 0;
};

}  // namespace kcb
