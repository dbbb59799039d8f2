// What every command shares: output formats, tables, the JSON envelope, colour, and the mapping of
// a Status to an exit code and a one-line error on stderr.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

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

// JSON documents keep their keys in insertion order, so "schema" comes first.
using Json = nlohmann::ordered_json;
// {"schema": "kcbackup.<command>.v1", "version": ...}: every JSON document starts from this.
Json json_envelope(std::string_view command);
void print_json(std::ostream& out, const Json& doc);

// True when stdout is a terminal, NO_COLOR is not set (or empty) and TERM is not "dumb".
bool use_colour();
// Wraps text in an ANSI colour when use_colour(); `colour` is an SGR code such as "32" (green).
std::string paint(std::string_view text, std::string_view colour);

// A table printed as aligned text, GitHub markdown or RFC 4180 CSV.
struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};
void print_table(std::ostream& out, const Table& table, Format format);

}  // namespace kcb::cli
