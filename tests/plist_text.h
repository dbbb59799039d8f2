// Property-list fixtures the unit tests share: an XML document as libplist's binary form (the
// bytes a real writer would give, not our own writer's).
#pragma once

#include <plist/plist.h>

#include <cstdint>
#include <string>

namespace kcb::testing_plist {

// "" when libplist cannot read the XML.
inline std::string binary_from_xml(const std::string& xml) {
  plist_t plist = nullptr;
  plist_from_xml(xml.data(), static_cast<uint32_t>(xml.size()), &plist);
  if (plist == nullptr) return "";
  char* bin = nullptr;
  uint32_t length = 0;
  plist_to_bin(plist, &bin, &length);
  plist_free(plist);
  std::string bytes(bin, length);
  plist_to_bin_free(bin);
  return bytes;
}

}  // namespace kcb::testing_plist
