// One parsed property list in either form, for readers written once for both: libplist's tree
// (TreeDoc: an XML document, or a binary one read the old way for comparison) or a binary
// document's bytes read in place (BinaryDoc over BinaryPlist: no tree, no copy of a key or blob
// per entry). The keychain archive, Manifest.plist, Status.plist and MBFile readers are templates
// over these, so the two forms cannot drift apart; their *_through_libplist twins
// (engine/archive_internal.h, engine/mbfile.h) let tests and the archive and mbfile fuzz targets
// hold a binary document's two readings to the same answer (fuzz/both_readings.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "input/property_list.h"

namespace kcb {

// get(path) asked once with no path and, only when it refuses, again with path() spelled out: a
// reader builds a field's path string ("MBFile: Size") for an error only.
template <typename Get, typename Path>
auto with_path_on_error(const Get& get, const Path& path) -> decltype(get(std::string_view())) {
  auto value = get(std::string_view());
  if (value.ok()) return value;
  return get(path());
}

struct TreeDoc {
  using Node = plist_t;
  bool is(Node n, plist_type t) const { return n != nullptr && plist_get_node_type(n) == t; }
  std::string_view type_name(Node n) const { return plist_type_name(n); }
  Status expect(Node n, plist_type t, std::string_view path) const {
    return expect_plist_type(n, t, path);
  }
  Result<ByteView> data(Node n, std::string_view path) const { return plist_data(n, path); }
  Result<std::string> string(Node n, std::string_view path) const {
    KCB_ASSIGN_OR_RETURN(std::string_view text, plist_string(n, path));
    return std::string(text);
  }
  Result<bool> boolean(Node n, std::string_view path) const { return plist_bool(n, path); }
  // BinaryPlist::date_seconds's contract.
  std::optional<int32_t> date_seconds(Node n) const {
    if (!is(n, PLIST_DATE)) return std::nullopt;
    int32_t sec = 0;
    int32_t usec = 0;
    plist_get_date_val(n, &sec, &usec);
    return sec;
  }
  Result<uint64_t> integer_bits(Node n, std::string_view path) const {
    KCB_RETURN_IF_ERROR(expect_plist_type(n, PLIST_UINT, path));
    uint64_t v = 0;
    plist_get_uint_val(n, &v);
    return v;
  }
  Result<uint64_t> uid(Node n, std::string_view path) const {
    KCB_RETURN_IF_ERROR(expect_plist_type(n, PLIST_UID, path));
    uint64_t v = 0;
    plist_get_uid_val(n, &v);
    return v;
  }
  size_t count(Node n) const {
    if (is(n, PLIST_ARRAY)) return plist_array_get_size(n);
    return is(n, PLIST_DICT) ? plist_dict_get_size(n) : 0;
  }
  std::optional<Node> get(Node dict, const char* key) const {
    plist_t v = plist_dict_get_item(dict, key);
    return v == nullptr ? std::nullopt : std::optional<Node>(v);
  }
  Status for_each_item(Node n, std::string_view path,
                       const std::function<Status(size_t, Node)>& f) const {
    return for_each_plist_item(n, path, f);
  }
  Status for_each_entry(Node n, std::string_view path,
                        const std::function<Status(std::string_view, Node)>& f) const {
    return for_each_plist_entry(n, path, f);
  }
};

struct BinaryDoc {
  using Node = BinaryPlist::Node;
  const BinaryPlist& plist;
  bool is(Node n, plist_type t) const { return plist.type(n) == t; }
  std::string_view type_name(Node n) const { return plist.type_name(n); }
  Status expect(Node n, plist_type t, std::string_view path) const {
    return plist.expect_type(n, t, path);
  }
  Result<ByteView> data(Node n, std::string_view path) const { return plist.data(n, path); }
  Result<std::string> string(Node n, std::string_view path) const { return plist.string(n, path); }
  Result<bool> boolean(Node n, std::string_view path) const { return plist.boolean(n, path); }
  std::optional<int32_t> date_seconds(Node n) const { return plist.date_seconds(n); }
  Result<uint64_t> integer_bits(Node n, std::string_view path) const {
    return plist.integer_bits(n, path);
  }
  Result<uint64_t> uid(Node n, std::string_view path) const { return plist.uid(n, path); }
  size_t count(Node n) const { return plist.count(n); }
  std::optional<Node> get(Node dict, const char* key) const { return plist.dict_get(dict, key); }
  Status for_each_item(Node n, std::string_view path,
                       const std::function<Status(size_t, Node)>& f) const {
    return plist.for_each_item(n, path, f);
  }
  Status for_each_entry(Node n, std::string_view path,
                        const std::function<Status(std::string_view, Node)>& f) const {
    return plist.for_each_entry(n, path, f);
  }
};

}  // namespace kcb
