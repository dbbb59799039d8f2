// `kcbackup audit`: parses the options, reads the file, calls the audit library
// (include/kcbackup/audit.h) and prints its report as text, JSON, markdown or CSV.
#pragma once

#include <iosfwd>
#include <string>

#include "cli/output.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

struct AuditOptions {
  std::string items_path;
  // Looked up when given or not empty, so `--wrapper ""` is refused. Neither: no wrapper, and an
  // omitted accessibility is the OS default.
  std::string wrapper;
  Format format = Format::kText;
  bool wrapper_given = false;  // --wrapper was on the command line
};

// Ok when every expectation holds (warnings never fail), CheckFailed when one is violated (the
// report is printed to `out` either way), else the error and nothing printed: InvalidArgument or
// ResourceExhausted naming the field, IOError for a file that cannot be read. Text and markdown
// show names and messages with control characters as \xNN; JSON and CSV carry them exactly.
Status run_audit(const AuditOptions& options, Env& env, std::ostream& out, std::ostream& err);

}  // namespace kcb::cli
