// Screens an audit document's bytes before any parser turns them into a tree, for what the tree
// would hide or what would throw: a key given twice in one object (nlohmann's parser and libplist's
// XML parser both keep the last one silently, so a second "expect" could switch a CI gate off), a
// JSON number no double holds (nlohmann throws out_of_range.406), and nesting past
// kMaxAuditNesting. Every error names the field path ("items[0].expect: key 'expect' appears twice
// in items[0]") as an InvalidArgument, nesting as a ResourceExhausted. No exception escapes.
// Binary plists are screened by the engine's reader (engine/property_list.h), which refuses a
// repeated key naming the key and the object number.
#pragma once

#include <string_view>

#include "kcbackup/status.h"

namespace kcb::cli {

// A JSON text: duplicate keys, numbers out of range, nesting, and syntax (with line and column).
Status screen_json(std::string_view text);
// An XML property list: duplicate keys (compared as libplist decodes them: entities, CDATA,
// comments) and nesting. Not a validator: what is malformed otherwise is left to libplist.
Status screen_xml_plist(std::string_view text);

}  // namespace kcb::cli
