#include "cli/output.h"

#include "audit/report_json.h"
#include "audit/report_table.h"

#include "cli/item_format.h"
#include "kcbackup/utf8.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace kcb::cli {

void add_format_option(CLI::App* cmd, Format* format, bool tables) {
  std::vector<std::pair<std::string, Format>> names{{"text", Format::kText},
                                                    {"json", Format::kJson}};
  if (tables) {
    names.emplace_back("markdown", Format::kMarkdown);
    names.emplace_back("csv", Format::kCsv);
  }
  std::string accepted;
  for (const auto& [name, value] : names)
    accepted += (accepted.empty() ? "" : "|") + name;
  // CLI11's CheckedTransformer would print the enum's numbers in --help and in its error; this
  // one names the accepted words and hands CLI11 the number it stores into the enum.
  auto to_number = [names, accepted](std::string& input) -> std::string {
    std::string lower = input;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& [name, value] : names) {
      if (lower == name) {
        input = std::to_string(static_cast<int>(value));
        return "";
      }
    }
    return "unknown format '" + input + "'; expected " + accepted;
  };
  cmd->add_option("--format", *format, "Output format")
      ->transform(CLI::Validator(to_number, "", "format"))
      ->type_name(accepted)
      ->default_str("text");
}

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kPermissionDenied:
      return kExitAuthFailed;
    case Code::kIOError:
      return kExitIOError;
    case Code::kCheckFailed:
      return kExitCheckFailed;
    default:
      return kExitInvalidInput;
  }
}

std::string error_line(const Status& status) {
  // PermissionDenied means a wrong password or key here (never a file's mode: the Env says
  // "permission denied" inside an IOError for that), so it says what it is.
  const std::string text = status.code() == Code::kPermissionDenied
                               ? "authentication failed: " + status.message()
                               : status.to_string();
  if (is_valid_utf8(text)) return "kcbackup: " + display_text(text);
  std::string out = "kcbackup: ";
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  }
  return out;
}

int report_error(const Status& status, std::ostream& err) {
  err << error_line(status) << "\n";
  return exit_code_for(status);
}

int report_error(const Status& status) {
  return report_error(status, std::cerr);
}

Json json_envelope(std::string_view command) {
  return report::json_envelope(command, KCB_VERSION);
}

void print_json(std::ostream& out, const Json& doc) {
  out << doc.dump(2) << "\n";
}

bool use_colour() {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') return false;  // no-color.org
  // A terminal that says it is dumb cannot show escape sequences (Emacs shell, some CI logs).
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return isatty(STDOUT_FILENO) == 1;
}

std::string paint(std::string_view text, std::string_view colour) {
  if (!use_colour()) return std::string(text);
  return "\x1b[" + std::string(colour) + "m" + std::string(text) + "\x1b[0m";
}

void print_table(std::ostream& out, const Table& table, Format format) {
  const report::TableStyle style = format == Format::kMarkdown ? report::TableStyle::kMarkdown
                                   : format == Format::kCsv    ? report::TableStyle::kCsv
                                                               : report::TableStyle::kText;
  out << report::table_text({table.headers, table.rows}, style);
}

}  // namespace kcb::cli
