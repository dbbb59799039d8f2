// `kcbackup audit`: parses the options, reads the file, calls the audit library
// (include/kcbackup/audit.h) and prints its report as the library renders it
// (include/kcbackup/audit_render.h): text, JSON, markdown, CSV, SARIF or JUnit.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/folder_commands.h"
#include "cli/output.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

struct AuditOptions {
  std::string items_path;
  // Looked up when given or not empty, so `--wrapper ""` is refused. Neither: no wrapper, and an
  // omitted accessibility is the OS default.
  std::string wrapper;
  std::string format = "text";  // parse_report_format
  bool summary = false;         // markdown only
  std::string fail_on = "violation";
  std::vector<std::string> ignore;  // KIND or KIND:ITEM each
  bool wrapper_given = false;       // --wrapper was on the command line
  // --backup DIR --access-group G: the items of one app found in a real backup replace ITEMS.
  std::string backup;
  std::string access_group;
  BackupKeySources keys;  // and --device
};

// Ok when the gate passes (no violated expectation; with --fail-on warning no warning either),
// CheckFailed when it does not (the report is printed to `out` either way), else the error and
// nothing printed: InvalidArgument or ResourceExhausted naming the field or option, IOError for a
// file that cannot be read. Text and markdown show names and messages with control characters as
// \xNN; JSON, CSV and SARIF carry them exactly, JUnit XML-escaped.
Status run_audit(const AuditOptions& options, Env& env, std::ostream& out, std::ostream& err);

}  // namespace kcb::cli
