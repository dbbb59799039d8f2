// Runs a kcbackup command line in-process and captures what it prints, for tests of the CLI.
#pragma once

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"

namespace kcb::cli {

struct CliRun {
  int exit_code;
  std::string out;
  std::string err;
};

inline CliRun run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int rc = run_kcbackup(args);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {rc, out.str(), err.str()};
}

}  // namespace kcb::cli
