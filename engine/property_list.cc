#include "engine/property_list.h"

#include <cstdlib>

namespace kcb {

Result<PlistPtr> parse_plist(ByteView bytes, std::string_view what) {
  if (bytes.size() > kMaxPlistBytes) {
    return Status::ResourceExhausted(std::string(what) + ": " + std::to_string(bytes.size()) +
                                     " bytes is over the cap of " + std::to_string(kMaxPlistBytes));
  }
  if (bytes.empty()) return Status::Corruption(std::string(what) + ": empty file");
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

Bytes to_binary_plist(plist_t node) {
  char* buf = nullptr;
  uint32_t len = 0;
  plist_to_bin(node, &buf, &len);
  KCB_ASSERT(buf != nullptr);
  return take_plist_buffer(buf, len, plist_to_bin_free);
}

Bytes to_xml_plist(plist_t node) {
  char* buf = nullptr;
  uint32_t len = 0;
  plist_to_xml(node, &buf, &len);
  KCB_ASSERT(buf != nullptr);
  return take_plist_buffer(buf, len, plist_to_xml_free);
}

std::string_view plist_type_name(plist_t node) {
  if (node == nullptr) return "nothing";
  switch (plist_get_node_type(node)) {
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

Status expect_plist_type(plist_t node, plist_type type, std::string_view path) {
  if (node != nullptr && plist_get_node_type(node) == type) return Status::Ok();
  static constexpr std::string_view kExpected[] = {
      "a boolean",    "an integer", "a real", "a string", "an array",
      "a dictionary", "a date",     "data",   "a key",    "a UID"};
  const std::string_view expected =
      static_cast<size_t>(type) < std::size(kExpected) ? kExpected[type] : "another type";
  return Status::Corruption(std::string(path) + ": expected " + std::string(expected) + ", found " +
                            std::string(plist_type_name(node)));
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
  return std::string_view(ptr, len);
}

Result<bool> plist_bool(plist_t node, std::string_view path) {
  KCB_RETURN_IF_ERROR(expect_plist_type(node, PLIST_BOOLEAN, path));
  uint8_t value = 0;
  plist_get_bool_val(node, &value);
  return value != 0;
}

}  // namespace kcb
