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
//   - a property list libplist cannot read: "property list: ..."
// PATH reads "items[2].expect.survives[0]"; the root is "document". Messages are valid UTF-8 (bytes
// that are not are shown as \xNN); control characters in keys are left for the printer to escape.
//
// The tree is nlohmann::ordered_json (keys in document order), so this header is private: included
// by .cc files of audit/ and harness/ only, never by a public header.
#pragma once

#include <cstddef>
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

// A JSON text.
Result<Tree> read_json(ByteView bytes, const Limits& limits);
// A JSON text, an XML property list (first non-blank byte '<') or a binary one ("bplist").
Result<Tree> read_document(ByteView bytes, const Limits& limits);

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

// Refuses the first key of `object` that is not in `allowed`:
//   "PATH.KEY: unknown field (did you mean 'accessible'?); expected one of: name, class, ..."
// The suggestion is the nearest allowed name within an edit distance of 2, if any. With `takes`
// ("an add step") the list reads "; an add step takes name, class, ...".
Status check_fields(const Tree& object, std::string_view path,
                    std::span<const std::string_view> allowed, std::string_view takes = {});

}  // namespace kcb::input
