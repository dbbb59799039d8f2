// What every audit report format says about the kinds of violations and warnings: the list of
// kinds, a one-line description of each (SARIF rules, markdown summaries, JUnit) and the SARIF
// level of each. Private to audit/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/audit.h"

namespace kcb::report {

// Every kind, in declaration order. Read from name_of (a kind it does not name ends the list),
// so a kind added to audit.h is listed without anyone remembering to.
std::vector<ViolationKind> all_violation_kinds();
std::vector<WarningKind> all_warning_kinds();

std::string_view description_of(ViolationKind kind);
std::string_view description_of(WarningKind kind);
// SARIF result.level: "error" for a violated expectation; "warning" for an item that does not
// work as written (it never syncs, cannot be added, a pair that splits, a deprecated class);
// "note" for a fact to design around (passcode-bound, sync dependence, half-restored).
std::string_view sarif_level(WarningKind kind);

std::string count_of(size_t n, std::string_view noun);  // "1 item", "2 items"
// "6 items, 1 violated expectation in 1 item, 9 warnings" (", 2 ignored" when some were).
std::string summary_text(const AuditReport& report, size_t ignored_warnings);
std::string join_forms(const std::vector<Form>& forms);

}  // namespace kcb::report
