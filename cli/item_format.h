// How the engine-facing commands (device, restore, migrate, inspect) print keychain items and the
// bytes inside them. Everything printed may come from a hostile file, so text is made safe first:
// JSON gets valid UTF-8 only (bytes that are not become "0x" + hex), the terminal gets no control
// characters. Secrets appear only when the caller asks (--show-secrets).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/output.h"
#include "kcbackup/bytes.h"
#include "kcbackup/der.h"
#include "kcbackup/item.h"
#include "kcbackup/model.h"

namespace kcb::cli {

// UTF-8 text as it is, anything else as "0x" + hex; for JSON strings.
std::string json_text(ByteView bytes);
// json_text with control characters shown as \xNN, for the terminal.
std::string display_text(ByteView bytes);
inline std::string display_text(std::string_view s) {
  return display_text(as_bytes(s));
}

// "2024-05-01T12:00:00.000Z"
std::string date_text(DerDate date);

// "WhenUnlocked (ak)"
std::string accessible_text(Accessibility a);
// "6 WhenUnlocked" for keychain classes 6..12, "3 (not a keychain class)" otherwise.
std::string key_class_text(uint32_t key_class);

// A DER value as JSON: data as {"data_hex": ...} (or {"data_bytes": n} when hidden), dates as
// {"date": ...}, containers recursively.
Json der_value_json(const DerValue& value);
// The same for people, on one line.
std::string der_value_text(const DerValue& value);

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
