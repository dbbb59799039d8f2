// The audit document (docs/audit.md) into AuditInput: the structure checked field by field on the
// tree of input/document.h, names, pairs and defaults resolved, and the wrapper table.
#include <algorithm>
#include <cctype>
#include <map>

#include "input/document.h"
#include "kcbackup/audit.h"
#include "kcbackup/names.h"

namespace kcb {
namespace {

using input::field_error;
using input::Tree;

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

constexpr std::string_view kDocumentFields[] = {"items", "icloud_keychain"};
constexpr std::string_view kItemFields[] = {
    "name",   "class", "accessible", "synchronizable",       "token", "auth_constraint",
    "expect", "pair",  "app_clip",   "stores_persistent_ref"};
constexpr std::string_view kExpectFields[] = {"survives", "never_leaves_device"};

// Unknown keys are errors, not warnings: a misspelt "survives" would silently turn a CI gate off.
// The reader dropped the annotations already; the message says they exist.
Status check_fields(const Tree& object, std::string_view path,
                    std::span<const std::string_view> allowed) {
  KCB_RETURN_IF_ERROR(input::expect_object(object, path));
  const Status s = input::check_fields(object, path, allowed);
  if (s.ok()) return s;
  return Status::InvalidArgument(s.message() + " (or \"comment\", or a key starting with \"x-\")");
}

Result<std::string> read_string(const Tree& v, std::string_view path) {
  return input::get_string(v, path, kMaxAuditStringBytes);
}

// Prefixes a names.h error with the field's path.
template <typename T>
Result<T> parse_named(Result<T> (*parse)(std::string_view), const Tree& v,
                      const std::string& path) {
  KCB_ASSIGN_OR_RETURN(std::string text, read_string(v, path));
  auto parsed = parse(text);
  if (!parsed.ok()) return field_error(path, parsed.status().message());
  return parsed;
}

// never_leaves_device with a survives form on another device asks for both at once: whatever the
// oracle says, one of them fails, so the document is wrong, not the app.
Status refuse_contradiction(const AuditItem& item, const std::string& path) {
  if (!item.never_leaves_device) return Status::Ok();
  for (size_t i = 0; i < item.survives.size(); ++i) {
    if (item.survives[i].target != Target::kOtherDevice) continue;
    return field_error(path + ".survives",
                       "'" + form_name(item.survives[i]) +
                           "' contradicts never_leaves_device: true (an item cannot both survive "
                           "on another device and never leave this one)");
  }
  return Status::Ok();
}

Status parse_survives(const Tree& list, const std::string& list_path, AuditItem& item) {
  KCB_RETURN_IF_ERROR(input::expect_array(list, list_path, "an array of \"journey:target\""));
  if (list.size() > kMaxAuditExpectations) {
    return field_error(list_path,
                       "more than " + std::to_string(kMaxAuditExpectations) + " entries");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    KCB_ASSIGN_OR_RETURN(Form form,
                         parse_named(&parse_form, list[i], input::index_path(list_path, i)));
    if (std::find(item.survives.begin(), item.survives.end(), form) == item.survives.end()) {
      item.survives.push_back(form);
    }
  }
  return Status::Ok();
}

Status parse_expectations(const Tree& v, const std::string& path, AuditItem& item) {
  KCB_RETURN_IF_ERROR(check_fields(v, path, kExpectFields));
  if (v.contains("never_leaves_device")) {
    KCB_ASSIGN_OR_RETURN(item.never_leaves_device,
                         input::get_bool(v["never_leaves_device"], path + ".never_leaves_device"));
  }
  if (!v.contains("survives")) return Status::Ok();
  KCB_RETURN_IF_ERROR(parse_survives(v["survives"], path + ".survives", item));
  return refuse_contradiction(item, path);
}

Status resolve_accessible(const Tree& v, const std::string& path, const Wrapper* wrapper,
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
Result<AuditItem> parse_item(const Tree& v, const std::string& path, const Wrapper* wrapper,
                             std::string& pair_name) {
  KCB_RETURN_IF_ERROR(check_fields(v, path, kItemFields));
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
                         input::get_bool(v["synchronizable"], path + ".synchronizable"));
  }
  if (v.contains("token")) {
    KCB_ASSIGN_OR_RETURN(item.traits.token, parse_named(&parse_token, v["token"], path + ".token"));
  }
  if (v.contains("auth_constraint")) {
    KCB_ASSIGN_OR_RETURN(item.traits.auth_constraint,
                         input::get_bool(v["auth_constraint"], path + ".auth_constraint"));
  }
  if (v.contains("app_clip")) {
    KCB_ASSIGN_OR_RETURN(item.traits.app_clip, input::get_bool(v["app_clip"], path + ".app_clip"));
  }
  if (v.contains("stores_persistent_ref")) {
    KCB_ASSIGN_OR_RETURN(
        item.stores_persistent_ref,
        input::get_bool(v["stores_persistent_ref"], path + ".stores_persistent_ref"));
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
    const std::string path = input::index_path("items", i) + ".pair";
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

Result<Switch> parse_icloud_keychain(const Tree& v) {
  if (v.is_boolean()) return v.get<bool>() ? Switch::kOn : Switch::kOff;
  return parse_named(&parse_switch, v, "icloud_keychain");
}

Result<AuditInput> parse_tree(const Tree& doc, const Wrapper* wrapper,
                              const input::Positions& positions) {
  KCB_RETURN_IF_ERROR(check_fields(doc, "", kDocumentFields));
  AuditInput input;
  if (doc.contains("icloud_keychain")) {
    KCB_ASSIGN_OR_RETURN(input.icloud_keychain, parse_icloud_keychain(doc["icloud_keychain"]));
  }
  if (!doc.contains("items")) return field_error("items", "missing: the list of keychain items");
  const Tree& items = doc["items"];
  KCB_RETURN_IF_ERROR(input::expect_array(items, "items"));
  // An audit of nothing passes whatever the app does: a gate fed the wrong file must say so.
  if (items.empty()) return field_error("items", "empty: an audit needs at least one item");
  if (items.size() > kMaxAuditItems) {
    return field_error("items", "more than " + std::to_string(kMaxAuditItems) + " items");
  }
  std::vector<std::string> pair_names(items.size());
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = input::index_path("items", i);
    KCB_ASSIGN_OR_RETURN(AuditItem item, parse_item(items[i], path, wrapper, pair_names[i]));
    if (const input::TextPosition* at = positions.find(path)) {
      item.line = at->line;
      item.column = at->column;
    }
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

std::string_view name_of(AccessibleFrom from) {
  switch (from) {
    case AccessibleFrom::kExplicit:
      return "explicit";
    case AccessibleFrom::kOsDefault:
      return "os-default";
    case AccessibleFrom::kWrapperDefault:
      return "wrapper-default";
  }
  return "?";
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
  if (!is_answerable(f)) {
    return Status::InvalidArgument("'" + std::string(text) + "': journey '" +
                                   std::string(name_of(f.journey)) + "' has no same-device form");
  }
  return f;
}

std::string form_name(const Form& f) {
  return std::string(name_of(f.journey)) + ":" + std::string(name_of(f.target));
}

Result<AuditInput> parse_audit_document(ByteView bytes, const Wrapper* wrapper,
                                        std::string_view source) {
  input::Limits limits;
  limits.max_bytes = kMaxAuditFileBytes;
  limits.max_nesting = kMaxAuditNesting;
  limits.drop_annotations = true;  // docs/audit.md: "comment" and "x-" keys, of any type
  input::Positions positions;
  positions.max_entries = kMaxAuditItems + 2;  // the root, the items array and every item
  auto doc = input::read_document(bytes, limits, &positions);
  if (!doc.ok()) return source.empty() ? doc.status() : doc.status().with_context(source);
  return parse_tree(*doc, wrapper, positions);
}

}  // namespace kcb
