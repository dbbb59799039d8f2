// The whole `kcbackup` program as a function, so tests can run any command line in-process.
#pragma once

#include <string>
#include <vector>

namespace kcb::cli {

// Parses `args` (without the program name) and runs the subcommand; returns the exit code.
int run_kcbackup(const std::vector<std::string>& args);

}  // namespace kcb::cli
