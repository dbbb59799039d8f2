// How the engine-facing commands (device, restore, migrate, inspect) print keychain items in JSON.
// Everything printed may come from a hostile file, so text is made safe first: JSON gets valid
// UTF-8 only (text_or_hex), the terminal no control characters (printable_text). Secrets appear
// only when the caller asks (--show-secrets). Values for people come from the libraries:
// accessible_text, key_class_text, flags_text (names.h), der_value_text (der.h).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/output.h"
#include "kcbackup/der.h"
#include "kcbackup/item.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb::cli {

inline std::string json_text(ByteView bytes) {
  return text_or_hex(bytes);
}
inline std::string display_text(ByteView bytes) {
  return printable_text(bytes);
}
inline std::string display_text(std::string_view s) {
  return printable_text(s);
}

// A DER value as JSON: data as {"data_hex": ...}, dates as {"date": ...}, containers recursively.
Json der_value_json(const DerValue& value);

// {"class", "account", "service", "access_group", "accessible" (pdmn), "synchronizable", "token",
// "auth_constraint", "secret_hex" (only with show_secrets)}: the device list schema's item.
Json item_json(const Item& item, bool show_secrets);
// Every attribute by name, `v_Data` last and only with show_secrets (else its size).
Json attributes_json(const Item& item, bool show_secrets);

// Warnings about a file (restore reports, inspect): a JSON array of json_text strings, or one
// "warning: <display_text>" line each.
Json warnings_json(const std::vector<std::string>& warnings);
void print_warnings(std::ostream& out, const std::vector<std::string>& warnings);

}  // namespace kcb::cli
