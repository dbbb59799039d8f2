// The one strict reader of input documents (an audit's items, a scenario): JSON text, or an XML or
// binary property list turned into the same tree, and the typed reads every reader of that tree
// needs. It decides nothing about keychains; audit/ and harness/ give the fields their meaning.
//
// Contract. Input is hostile; no exception escapes, and every refusal is one Status whose message
// names where it was found. ResourceExhausted:
//   - a document larger than Limits::max_bytes: "larger than N bytes"
//   - nesting deeper than Limits::max_nesting: "PATH: nested deeper than N"
//   - a binary plist whose references expand past what its size allows (the engine's reader)
// InvalidArgument:
//   - an empty or all-whitespace document: "document: empty"
//   - a JSON syntax error, ill-formed UTF-8 included: "invalid JSON: parse error at line L,
//     column C: ..."; a NUL byte in JSON text: "invalid JSON: a NUL byte at byte N"
//   - a NUL character in a string or key ("\u0000"): "PATH: a string with a NUL character"
//   - a key given twice in one object, in JSON or an XML plist (compared as libplist decodes
//     it): "PATH: key 'K' appears twice in PARENT; give each key once"; a binary plist's repeated
//     key is refused by engine/property_list.h, which names the object, not the path
//   - a JSON number no double holds: "PATH: number overflow parsing '1e400' (...)"
//   - a plist string or key that is not UTF-8: "PATH: a string that is not UTF-8"
//   - a plist <date>, <data> or UID: "PATH: a property list <date>, <data> or UID is not ..."
//   - an XML property list that is not well-formed: "property list: XML syntax error at line L,
//     column C: ..." (unknown or mismatched elements, markup left open); other refusals of
//     libplist: "property list: ..."
// PATH reads "items[2].expect.survives[0]"; the root is "document". Messages are valid UTF-8 (bytes
// that are not are shown as \xNN); control characters in keys are left for the printer to escape.
//
// The tree is nlohmann::ordered_json (keys in document order), so this header is private: included
// by .cc files of audit/ and harness/ only, never by a public header.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb::input {

using Tree = nlohmann::ordered_json;

struct Limits {
  size_t max_bytes = size_t{1} << 20;
  size_t max_nesting = 16;  // objects and arrays inside each other, the root counted
  // Keys "comment" and "x-..." are for people: checked like every key (syntax, twice, numbers),
  // then left out of the tree whatever their value, so readers never see them.
  bool drop_annotations = false;
};

// Keys that drop_annotations leaves out.
bool is_annotation_key(std::string_view key);

// Where something starts in a document's text: the line (1-based; a line ends at LF, CR LF or
// CR) and the column (1-based, in Unicode code points: SARIF's "unicodeCodePoints"). A UTF-8 BOM
// at the start is not counted.
struct TextPosition {
  size_t line = 0;
  size_t column = 0;
};

// Where each object and array of a document starts (its '{' or '[', its <dict> or <array>), by
// the path errors use ("items[2]"; "" for the root), for reports that point into the file (SARIF).
// The first max_entries in document order; a binary property list has no text and fills none.
struct Positions {
  size_t max_entries = 4096;
  std::map<std::string, TextPosition, std::less<>> by_path;
  const TextPosition* find(std::string_view path) const;
};

// A JSON text.
Result<Tree> read_json(ByteView bytes, const Limits& limits, Positions* positions = nullptr);
// A JSON text, an XML property list (first non-blank byte '<', after a UTF-8 BOM if any) or a
// binary one ("bplist"). `positions`, when given, receives where the containers start.
Result<Tree> read_document(ByteView bytes, const Limits& limits, Positions* positions = nullptr);

// ---- Reading the tree: every error is an InvalidArgument "PATH: what". ----

std::string child_path(std::string_view path, std::string_view key);  // "items[0]" + "name"
std::string index_path(std::string_view path, size_t index);          // "items" + 2: "items[2]"
Status field_error(std::string_view path, std::string_view message);

// "an object", "an array", "a string", "a boolean", "a number", "null".
std::string_view type_name(const Tree& value);
// "PATH: expected WANTED, got an array"; `wanted` defaults to the type's own name.
Status expect_object(const Tree& value, std::string_view path);
Status expect_array(const Tree& value, std::string_view path, std::string_view wanted = {});
Result<std::string> get_string(const Tree& value, std::string_view path, size_t max_bytes);
Result<bool> get_bool(const Tree& value, std::string_view path);

// " (did you mean 'NAME'?)" for the nearest of `allowed` within an edit distance of 2 (the first
// of equals), else "": for a misspelt field here, and a misspelt option in the CLI.
std::string did_you_mean(std::string_view key, std::span<const std::string_view> allowed);
// A command-line option no command here takes: "unknown option '--frmat' (did you mean
// '--format'?)" with the nearest of `long_names` ("--format", ...), for a short option ("-V") the
// one long option of that letter in any case, else "; the options here are ..." when there are at
// most four.
std::string unknown_option_message(std::string_view name,
                                   std::span<const std::string_view> long_names);

// Free text given on a command line is echoed back in reports and errors, so it is capped like a
// document's strings: a keychain attribute (--account, --service, --label, --access-group) at
// the 256 bytes an audit allows a name, anything else (a path, a domain) at PATH_MAX. The secret
// and the password are data, never echoed: not capped here.
inline constexpr size_t kMaxAttributeOptionBytes = 256;
inline constexpr size_t kMaxOptionBytes = 4096;
// The cap of the option named `name` ("--service", "DIR"): kMaxAttributeOptionBytes,
// kMaxOptionBytes, or 0 for the uncapped secret and password options.
size_t option_text_cap(std::string_view name);
// "" when `text` is within `cap` bytes, else "N bytes; at most CAP" (the text itself is not
// repeated: echoing it is what the cap prevents).
std::string option_text_error(std::string_view text, size_t cap);

// Refuses the first key of `object` that is not in `allowed`:
//   "PATH.KEY: unknown field (did you mean 'accessible'?); expected one of: name, class, ..."
// The suggestion is the nearest allowed name within an edit distance of 2, if any. With `takes`
// ("an add step") the list reads "; an add step takes name, class, ...".
Status check_fields(const Tree& object, std::string_view path,
                    std::span<const std::string_view> allowed, std::string_view takes = {});

}  // namespace kcb::input
