// The input of `kcbackup audit`: an app's keychain items and what the app expects of them, read
// from JSON or from an XML or binary property list (the same structure; docs/audit.md), plus the
// table of keychain wrapper libraries and the accessibility each one uses when the app says
// nothing. Input is hostile: sizes, counts, lengths and nesting are capped, and every error names
// the field path ("items[2].accessible: unknown accessibility 'foo'; ...") as an InvalidArgument; a
// file that cannot be read is an IOError.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/output.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb::cli {

// Caps on hostile input. Real apps store tens of items; these leave room without risk.
inline constexpr size_t kMaxAuditFileBytes = 1 << 20;
inline constexpr size_t kMaxAuditItems = 1000;
inline constexpr size_t kMaxAuditNesting = 16;
inline constexpr size_t kMaxAuditStringBytes = 256;
inline constexpr size_t kMaxAuditExpectations = 32;

// A keychain wrapper library and the kSecAttrAccessible value it uses when the app passes none.
struct Wrapper {
  std::string_view name;                            // "keychainaccess", as given to --wrapper
  std::string_view library;                         // "KeychainAccess"
  std::optional<Accessibility> default_accessible;  // nullopt: the library requires a choice
};
std::span<const Wrapper> wrappers();
// Case, '-' and '_' do not matter; an unknown name is an InvalidArgument listing the known ones.
Result<const Wrapper*> find_wrapper(std::string_view name);

// Where an item's accessibility came from, so reports can say "the wrapper's default".
enum class AccessibleFrom { kExplicit, kOsDefault, kWrapperDefault };

// "local-encrypted:other-device" in any spelling names.h accepts; a journey with no same-device
// form asked with same-device is an InvalidArgument.
Result<Form> parse_form(std::string_view text);
std::string form_name(const Form& f);  // canonical "local-encrypted:other-device"

struct AuditItem {
  std::string name;
  Traits traits;
  AccessibleFrom accessible_from = AccessibleFrom::kOsDefault;
  std::vector<Form> survives;        // each must be `restored`
  bool never_leaves_device = false;  // restored on no other-device form
  std::optional<size_t> pair;        // index of the other half of a key pair, both ways
};

struct AuditInput {
  Switch icloud_keychain = Switch::kUnspecified;  // the user's assumption, for every item
  std::vector<AuditItem> items;
};

// The document's bytes as a JSON value: a JSON text, or an XML or binary property list walked into
// the same structure (dictionaries, arrays, strings, booleans, numbers; other plist types are an
// error naming the path, except under "comment" and "x-" keys, which a plist's value skips). A key
// given twice in one object, a number no double holds, a plist string that is not UTF-8, or an
// empty file is an error naming the path (cli/audit_screen.h).
Result<Json> decode_audit_document(std::string_view bytes);
// Validates the structure and resolves names, pairs and defaults. `wrapper` may be null.
Result<AuditInput> parse_audit_input(const Json& doc, const Wrapper* wrapper);
// Reads, decodes and parses the file at `path`.
Result<AuditInput> load_audit_input(const std::string& path, const Wrapper* wrapper);

}  // namespace kcb::cli
