// What every command shares: the --format option, whether stdout takes colour, and the mapping of
// a Status to an exit code and a one-line error on stderr. The reports themselves come from the
// libraries (kcbackup/render.h, kcbackup/audit_render.h).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "kcbackup/render.h"
#include "kcbackup/status.h"

namespace kcb::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;   // an audit expectation or engine/oracle agreement
inline constexpr int kExitInvalidInput = 2;  // usage, malformed or hostile file, unsupported
inline constexpr int kExitAuthFailed = 3;    // wrong backup password
inline constexpr int kExitIOError = 4;

// text, json (and markdown, csv where a command prints tables): the reports' formats.
using Format = render::Format;

// Adds `--format` to a command; `tables` also allows markdown and csv.
void add_format_option(CLI::App* cmd, Format* format, bool tables);

// The exit code a Status maps to, per cli.md: THE mapping.
int exit_code_for(const Status& status);
// Prints "kcbackup: <code>: <message>" to `err` and returns exit_code_for(status).
// The one-line error kcbackup prints for `status`: "kcbackup: invalid argument: ...", with
// control characters, and every byte past ASCII when the text is not UTF-8, shown as \xNN, so the
// line steers no terminal.
std::string error_line(const Status& status);
int report_error(const Status& status, std::ostream& err);
int report_error(const Status& status);  // to std::cerr

// The commands' JSON documents (render/) keep their keys in insertion order, "schema" first; tests
// read them back with this.
using Json = nlohmann::ordered_json;

// True when stdout is a terminal, NO_COLOR is not set (or empty) and TERM is not "dumb".
bool use_colour();

}  // namespace kcb::cli
