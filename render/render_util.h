// What the renderers of render/ share: the JSON document and its envelope, tables, colour, and
// keychain items, DER values and warnings as JSON and text. Private to render/: nlohmann stays out
// of the public headers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/report_json.h"
#include "audit/report_table.h"
#include "kcbackup/der.h"
#include "kcbackup/item.h"
#include "kcbackup/render.h"
#include "kcbackup/utf8.h"

namespace kcb::render {

using report::Json;
using report::Table;

// Text from a file: valid UTF-8 for JSON (hex otherwise), no control characters for a terminal.
inline std::string json_text(ByteView bytes) {
  return text_or_hex(bytes);
}
inline std::string display_text(ByteView bytes) {
  return printable_text(bytes);
}
inline std::string display_text(std::string_view s) {
  return printable_text(s);
}

// {"schema": "kcbackup.<command>.v1", "version": ...}: every document starts from this.
Json envelope(std::string_view command);
// The document, indented by 2 and newline-terminated.
std::string document(const Json& doc);
// The table as aligned text, markdown or CSV (kJson is never asked for: JSON has no tables).
std::string table_text(const Table& table, Format format = Format::kText);
// `text` in the ANSI colour `code` (an SGR code such as "32", green) when `colour`.
std::string paint(std::string_view text, std::string_view code, bool colour);
std::string yes_no(bool b);

// A DER value as JSON: data as {"data_hex": ...}, dates as {"date": ...}, containers recursively.
Json der_value_json(const DerValue& value);
// {"class", "account", "service", "access_group", "accessible" (pdmn), "synchronizable", "token",
// "auth_constraint", "secret_hex" (only with show_secrets)}: the device list schema's item.
Json item_json(const Item& item, bool show_secrets);
// Every attribute by name, `v_Data` last and only with show_secrets (else its size).
Json attributes_json(const Item& item, bool show_secrets);

// Warnings about a file: a JSON array of json_text strings, or one "warning: ..." line each.
Json warnings_json(const std::vector<std::string>& warnings);
std::string warnings_text(const std::vector<std::string>& warnings);

}  // namespace kcb::render
