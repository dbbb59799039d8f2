#include "cli/audit_input.h"

#include <plist/plist.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "cli/audit_screen.h"
#include "kcbackup/der.h"
#include "engine/property_list.h"
#include "kcbackup/names.h"

namespace kcb::cli {
namespace {

// What wrappers do when the app passes no kSecAttrAccessible: rules.md, "What developers hit in
// practice" (KeychainAccess `.afterFirstUnlock`; keychain-swift `accessibleWhenUnlocked`;
// SwiftKeychainWrapper and SAMKeychain leave it to the OS; auth0 SimpleKeychain
// `.afterFirstUnlock`; react-native-keychain `AfterFirstUnlock`; flutter_secure_storage `unlocked`;
// expo-secure-store `whenUnlocked`; Valet makes it a required choice). This is the only copy of
// that table.
constexpr Wrapper kWrappers[] = {
    {"keychainaccess", "KeychainAccess", Accessibility::kAfterFirstUnlock},
    {"keychain-swift", "keychain-swift", Accessibility::kWhenUnlocked},
    {"swiftkeychainwrapper", "SwiftKeychainWrapper", Accessibility::kWhenUnlocked},
    {"samkeychain", "SAMKeychain", Accessibility::kWhenUnlocked},
    {"simplekeychain", "SimpleKeychain (auth0)", Accessibility::kAfterFirstUnlock},
    {"react-native-keychain", "react-native-keychain", Accessibility::kAfterFirstUnlock},
    {"flutter_secure_storage", "flutter_secure_storage", Accessibility::kWhenUnlocked},
    {"expo-secure-store", "expo-secure-store", Accessibility::kWhenUnlocked},
    {"valet", "Valet", std::nullopt},
};

std::string fold_wrapper_name(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '-' || c == '_' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// ---- Decoding: JSON text, XML plist or binary plist into one Json value. ----

enum class Encoding { kJson, kXmlPlist, kBinaryPlist };

Encoding sniff_encoding(std::string_view bytes) {
  if (bytes.substr(0, 6) == "bplist") return Encoding::kBinaryPlist;
  size_t i = bytes.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i])))
    ++i;
  return i < bytes.size() && bytes[i] == '<' ? Encoding::kXmlPlist : Encoding::kJson;
}

bool is_blank(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// The screen has seen every key, number and nesting level, so the DOM parse (exceptions off)
// cannot fail on what it let through; a failure is still an error, never an exception.
Result<Json> decode_json(std::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows it.
  const size_t nul = text.find('\0');
  if (nul != std::string_view::npos) {
    return Status::InvalidArgument("invalid JSON: a NUL byte at byte " + std::to_string(nul));
  }
  KCB_RETURN_IF_ERROR(screen_json(text));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("invalid JSON");
  return doc;
}

// Annotations for people, ignored at every level whatever their type (docs/audit.md).
bool is_annotation_key(std::string_view key) {
  return key == "comment" || key.starts_with("x-");
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// Json output (--format json) needs valid UTF-8; JSON input is checked by its parser, plists here.
Result<Json> utf8_string_json(std::string_view s, const std::string& where) {
  if (!is_valid_utf8(s)) return Status::InvalidArgument(where + ": a string that is not UTF-8");
  return Json(std::string(s));
}

Result<Json> plist_to_json(plist_t node, const std::string& path, size_t depth);

Result<Json> plist_dict_to_json(plist_t node, const std::string& path, size_t depth) {
  Json out = Json::object();
  plist_dict_iter it = nullptr;
  plist_dict_new_iter(node, &it);
  std::unique_ptr<void, decltype(&std::free)> iter(it, &std::free);
  for (uint32_t i = 0, n = plist_dict_get_size(node); i < n; ++i) {
    char* raw_key = nullptr;
    plist_t value = nullptr;
    plist_dict_next_item(node, it, &raw_key, &value);
    if (raw_key == nullptr || value == nullptr) break;
    const std::string key(raw_key);
    std::free(raw_key);
    if (is_annotation_key(key)) continue;
    const std::string key_path = child_path(path, key);
    if (!is_valid_utf8(key)) return Status::InvalidArgument(key_path + ": a key that is not UTF-8");
    KCB_ASSIGN_OR_RETURN(out[key], plist_to_json(value, key_path, depth + 1));
  }
  return out;
}

Result<Json> plist_to_json(plist_t node, const std::string& path, size_t depth) {
  const std::string where = path.empty() ? "document" : path;
  if (depth > kMaxAuditNesting) return Status::ResourceExhausted(where + ": nested too deep");
  switch (plist_get_node_type(node)) {
    case PLIST_DICT:
      return plist_dict_to_json(node, path, depth);
    case PLIST_ARRAY: {
      Json out = Json::array();
      for (uint32_t i = 0, n = plist_array_get_size(node); i < n; ++i) {
        KCB_ASSIGN_OR_RETURN(Json v,
                             plist_to_json(plist_array_get_item(node, i),
                                           path + "[" + std::to_string(i) + "]", depth + 1));
        out.push_back(std::move(v));
      }
      return out;
    }
    case PLIST_STRING: {
      uint64_t length = 0;
      const char* s = plist_get_string_ptr(node, &length);
      return utf8_string_json(std::string_view(s == nullptr ? "" : s, s == nullptr ? 0 : length),
                              where);
    }
    case PLIST_BOOLEAN: {
      uint8_t v = 0;
      plist_get_bool_val(node, &v);
      return Json(v != 0);
    }
    case PLIST_UINT: {
      uint64_t v = 0;
      plist_get_uint_val(node, &v);
      return Json(v);
    }
    case PLIST_REAL: {
      double v = 0;
      plist_get_real_val(node, &v);
      return Json(v);
    }
    default:
      return Status::InvalidArgument(where +
                                     ": a property list <date>, <data> or UID is not "
                                     "accepted here");
  }
}

Result<Json> decode_plist(std::string_view bytes, Encoding encoding) {
  // libplist's XML parser keeps the last of a repeated key: the screen finds it first. The engine's
  // reader bounds nesting and expansion, and refuses a binary plist's repeated key itself.
  if (encoding == Encoding::kXmlPlist) KCB_RETURN_IF_ERROR(screen_xml_plist(bytes));
  PlistLimits limits;
  limits.max_depth = kMaxAuditNesting;
  auto plist = parse_plist(as_bytes(bytes), "property list", limits);
  if (!plist.ok()) {
    return plist.status().code() == Code::kResourceExhausted
               ? plist.status()
               : Status::InvalidArgument(plist.status().message());
  }
  return plist_to_json(plist->get(), "", 0);
}

// ---- Parsing: the Json value into AuditInput, with the path of every offending field. ----

Status field_error(const std::string& path, std::string_view message) {
  return Status::InvalidArgument(path + ": " + std::string(message));
}

std::string_view type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

Status expect_type(const Json& v, Json::value_t type, std::string_view wanted,
                   const std::string& path) {
  if (v.type() == type) return Status::Ok();
  return field_error(path,
                     "expected " + std::string(wanted) + ", got " + std::string(type_name(v)));
}

Result<std::string> read_string(const Json& v, const std::string& path) {
  KCB_RETURN_IF_ERROR(expect_type(v, Json::value_t::string, "a string", path));
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > kMaxAuditStringBytes) {
    return field_error(path, "longer than " + std::to_string(kMaxAuditStringBytes) + " bytes");
  }
  return s;
}

Result<bool> read_bool(const Json& v, const std::string& path) {
  KCB_RETURN_IF_ERROR(expect_type(v, Json::value_t::boolean, "a boolean (true or false)", path));
  return v.get<bool>();
}

// Unknown keys are errors, not warnings: a misspelt "survives" would silently turn a CI gate off.
// "comment" and keys starting with "x-" are left for people.
Status check_keys(const Json& object, std::initializer_list<std::string_view> known,
                  const std::string& path) {
  for (const auto& [key, value] : object.items()) {
    if (is_annotation_key(key)) continue;
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string accepted;
    for (std::string_view k : known)
      accepted += " " + std::string(k);
    return field_error(child_path(path, key),
                       "unknown field; expected one of:" + accepted +
                           " (or \"comment\", or a key starting with \"x-\")");
  }
  return Status::Ok();
}

// Prefixes a names.h error with the field's path.
template <typename T>
Result<T> parse_named(Result<T> (*parse)(std::string_view), const Json& v,
                      const std::string& path) {
  KCB_ASSIGN_OR_RETURN(std::string text, read_string(v, path));
  auto parsed = parse(text);
  if (!parsed.ok()) return field_error(path, parsed.status().message());
  return parsed;
}

Status parse_expectations(const Json& v, const std::string& path, AuditItem& item) {
  KCB_RETURN_IF_ERROR(expect_type(v, Json::value_t::object, "an object", path));
  KCB_RETURN_IF_ERROR(check_keys(v, {"survives", "never_leaves_device"}, path));
  if (v.contains("never_leaves_device")) {
    KCB_ASSIGN_OR_RETURN(item.never_leaves_device,
                         read_bool(v["never_leaves_device"], path + ".never_leaves_device"));
  }
  if (!v.contains("survives")) return Status::Ok();
  const std::string list_path = path + ".survives";
  const Json& list = v["survives"];
  KCB_RETURN_IF_ERROR(
      expect_type(list, Json::value_t::array, "an array of \"journey:target\"", list_path));
  if (list.size() > kMaxAuditExpectations) {
    return field_error(list_path,
                       "more than " + std::to_string(kMaxAuditExpectations) + " entries");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    KCB_ASSIGN_OR_RETURN(
        Form form, parse_named(&parse_form, list[i], list_path + "[" + std::to_string(i) + "]"));
    if (std::find(item.survives.begin(), item.survives.end(), form) == item.survives.end()) {
      item.survives.push_back(form);
    }
  }
  return Status::Ok();
}

Status resolve_accessible(const Json& v, const std::string& path, const Wrapper* wrapper,
                          AuditItem& item) {
  if (v.contains("accessible")) {
    KCB_ASSIGN_OR_RETURN(item.traits.accessible,
                         parse_named(&parse_accessibility, v["accessible"], path + ".accessible"));
    item.accessible_from = AccessibleFrom::kExplicit;
    return Status::Ok();
  }
  if (wrapper == nullptr) {
    item.traits.accessible = Accessibility::kWhenUnlocked;  // rules.md: the OS default
    item.accessible_from = AccessibleFrom::kOsDefault;
    return Status::Ok();
  }
  if (!wrapper->default_accessible) {
    return field_error(path + ".accessible",
                       "missing, and " + std::string(wrapper->library) +
                           " has no default: the app must choose one, so name it here");
  }
  item.traits.accessible = *wrapper->default_accessible;
  item.accessible_from = AccessibleFrom::kWrapperDefault;
  return Status::Ok();
}

// One item; `pair_name` receives the raw "pair" value, resolved once every name is known.
Result<AuditItem> parse_item(const Json& v, const std::string& path, const Wrapper* wrapper,
                             std::string& pair_name) {
  KCB_RETURN_IF_ERROR(expect_type(v, Json::value_t::object, "an object", path));
  KCB_RETURN_IF_ERROR(check_keys(v,
                                 {"name", "class", "accessible", "synchronizable", "token",
                                  "auth_constraint", "expect", "pair"},
                                 path));
  AuditItem item;
  if (!v.contains("name")) return field_error(path + ".name", "missing: every item needs a name");
  KCB_ASSIGN_OR_RETURN(item.name, read_string(v["name"], path + ".name"));
  if (item.name.empty()) return field_error(path + ".name", "empty");
  if (v.contains("class")) {
    KCB_ASSIGN_OR_RETURN(item.traits.item_class,
                         parse_named(&parse_item_class, v["class"], path + ".class"));
  }
  KCB_RETURN_IF_ERROR(resolve_accessible(v, path, wrapper, item));
  if (v.contains("synchronizable")) {
    KCB_ASSIGN_OR_RETURN(item.traits.synchronizable,
                         read_bool(v["synchronizable"], path + ".synchronizable"));
  }
  if (v.contains("token")) {
    KCB_ASSIGN_OR_RETURN(item.traits.token, parse_named(&parse_token, v["token"], path + ".token"));
  }
  if (v.contains("auth_constraint")) {
    KCB_ASSIGN_OR_RETURN(item.traits.auth_constraint,
                         read_bool(v["auth_constraint"], path + ".auth_constraint"));
  }
  if (v.contains("expect")) {
    KCB_RETURN_IF_ERROR(parse_expectations(v["expect"], path + ".expect", item));
  }
  if (v.contains("pair")) {
    KCB_ASSIGN_OR_RETURN(pair_name, read_string(v["pair"], path + ".pair"));
  }
  return item;
}

// A pair is symmetric and one-to-one; declaring it on one half is enough.
Status resolve_pairs(const std::vector<std::string>& pair_names, AuditInput& input) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < input.items.size(); ++i)
    index.emplace(input.items[i].name, i);
  for (size_t i = 0; i < pair_names.size(); ++i) {
    if (pair_names[i].empty()) continue;
    const std::string path = "items[" + std::to_string(i) + "].pair";
    const auto found = index.find(pair_names[i]);
    if (found == index.end()) return field_error(path, "no item named '" + pair_names[i] + "'");
    const size_t j = found->second;
    if (j == i) return field_error(path, "an item cannot pair with itself");
    for (const auto& [half, other] : {std::pair{i, j}, std::pair{j, i}}) {
      const auto& existing = input.items[half].pair;
      if (existing && *existing != other) {
        return field_error(path, "'" + input.items[half].name + "' is already paired with '" +
                                     input.items[*existing].name + "'");
      }
    }
    input.items[i].pair = j;
    input.items[j].pair = i;
  }
  return Status::Ok();
}

Result<Switch> parse_icloud_keychain(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? Switch::kOn : Switch::kOff;
  return parse_named(&parse_switch, v, "icloud_keychain");
}

}  // namespace

std::span<const Wrapper> wrappers() {
  return kWrappers;
}

Result<const Wrapper*> find_wrapper(std::string_view name) {
  const std::string folded = fold_wrapper_name(name);
  std::string known;
  for (const Wrapper& w : kWrappers) {
    if (fold_wrapper_name(w.name) == folded || fold_wrapper_name(w.library) == folded) return &w;
    known += " " + std::string(w.name);
  }
  return Status::InvalidArgument("--wrapper: unknown wrapper '" + std::string(name) +
                                 "'; expected one of:" + known);
}

Result<Form> parse_form(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not journey:target (e.g. local-encrypted:other-device)");
  }
  Form f{};
  KCB_ASSIGN_OR_RETURN(f.journey, parse_journey(text.substr(0, colon)));
  KCB_ASSIGN_OR_RETURN(f.target, parse_target(text.substr(colon + 1)));
  const bool other_only =
      f.journey == Journey::kQuickStart || f.journey == Journey::kIcloudKeychain;
  if (other_only && f.target == Target::kSameDevice) {
    return Status::InvalidArgument("'" + std::string(text) + "': journey '" +
                                   std::string(name_of(f.journey)) + "' has no same-device form");
  }
  return f;
}

std::string form_name(const Form& f) {
  return std::string(name_of(f.journey)) + ":" + std::string(name_of(f.target));
}

Result<Json> decode_audit_document(std::string_view bytes) {
  if (bytes.size() > kMaxAuditFileBytes) {
    return Status::ResourceExhausted("larger than " + std::to_string(kMaxAuditFileBytes) +
                                     " bytes");
  }
  if (is_blank(bytes)) return Status::InvalidArgument("document: empty");
  const Encoding encoding = sniff_encoding(bytes);
  if (encoding == Encoding::kJson) return decode_json(bytes);
  return decode_plist(bytes, encoding);
}

Result<AuditInput> parse_audit_input(const Json& doc, const Wrapper* wrapper) {
  KCB_RETURN_IF_ERROR(expect_type(doc, Json::value_t::object, "an object", "document"));
  KCB_RETURN_IF_ERROR(check_keys(doc, {"items", "icloud_keychain"}, ""));
  AuditInput input;
  if (doc.contains("icloud_keychain")) {
    KCB_ASSIGN_OR_RETURN(input.icloud_keychain, parse_icloud_keychain(doc["icloud_keychain"]));
  }
  if (!doc.contains("items")) return field_error("items", "missing: the list of keychain items");
  const Json& items = doc["items"];
  KCB_RETURN_IF_ERROR(expect_type(items, Json::value_t::array, "an array", "items"));
  if (items.size() > kMaxAuditItems) {
    return field_error("items", "more than " + std::to_string(kMaxAuditItems) + " items");
  }
  std::vector<std::string> pair_names(items.size());
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = "items[" + std::to_string(i) + "]";
    KCB_ASSIGN_OR_RETURN(AuditItem item, parse_item(items[i], path, wrapper, pair_names[i]));
    const auto [at, fresh] = seen.emplace(item.name, i);
    if (!fresh) {
      return field_error(path + ".name", "duplicate name '" + item.name + "' (also items[" +
                                             std::to_string(at->second) + "].name)");
    }
    input.items.push_back(std::move(item));
  }
  KCB_RETURN_IF_ERROR(resolve_pairs(pair_names, input));
  return input;
}

Result<AuditInput> load_audit_input(const std::string& path, const Wrapper* wrapper) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::IOError(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open for reading");
  std::string bytes(kMaxAuditFileBytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) return Status::IOError(path + ": read failed");
  bytes.resize(static_cast<size_t>(in.gcount()));
  auto doc = decode_audit_document(bytes);
  if (!doc.ok()) return doc.status().with_context(path);
  return parse_audit_input(*doc, wrapper);
}

}  // namespace kcb::cli
