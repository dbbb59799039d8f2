#include "cli/output.h"

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
  if (is_valid_utf8(text)) return "kcbackup: " + printable_text(text);
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

bool use_colour() {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') return false;  // no-color.org
  // A terminal that says it is dumb cannot show escape sequences (Emacs shell, some CI logs).
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return isatty(STDOUT_FILENO) == 1;
}

}  // namespace kcb::cli
