// The help texts of the commands (cli/help.cc): one table, looked up by command path
// ("predict", "device add").
#pragma once

#include <string_view>

namespace kcb::cli {

struct CommandHelp {
  std::string_view path;    // the command words after `kcbackup`
  std::string_view about;   // the one line in the parent's --help
  std::string_view footer;  // the end of the command's own --help: exit codes, an example
};

// The entry of `path`; every registered command has one (asserted).
const CommandHelp& help_for(std::string_view path);

}  // namespace kcb::cli
