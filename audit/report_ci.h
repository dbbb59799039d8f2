// The audit report in the formats CI systems read: SARIF 2.1.0 (code scanning) and JUnit XML (test
// dashboards). Private to audit/; render_report (kcbackup/audit_render.h) is the way in.
#pragma once

#include <string>

#include "kcbackup/audit_render.h"

namespace kcb::report {

// SARIF 2.1.0: one run, the rules of every expectation and warning kind (whether or not they
// occur, so a dashboard knows what the gate checks), one result per violation (level "error")
// and per warning (sarif_level), located at the item: the file as `source` names it, with the
// line and column where the item's object starts (a region, when the item has them: not for a
// binary property list), and the item's path ("items[2]") as a logical location. Columns are
// code points (run.columnKind "unicodeCodePoints").
std::string sarif_report(const AuditReport& report, const RenderOptions& options);

// JUnit XML: one suite, one test case per item and expectation (each survives form, and
// never_leaves_device), failed with the verdict and rule ids when violated; with FailOn::kWarning
// an item's warnings are one more test case, failed when it has any. Names and messages are
// XML-escaped, control characters shown as \xNN.
std::string junit_report(const AuditReport& report, const RenderOptions& options);

}  // namespace kcb::report
