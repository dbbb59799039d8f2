// An audit report (kcbackup/audit.h) rendered for people and for the CI systems it gates: text for
// a terminal, GitHub markdown for a PR comment or job summary, CSV and JSON for tools, SARIF 2.1.0
// for code scanning and JUnit XML for test dashboards (docs/audit.md, "Output"). Pure: every
// function returns text and prints nothing; the caller decides where it goes.
//
// What the report says is decided by the audit; these functions only choose how it is shown, with
// two gate policies that shape the result: ignored warning kinds (apply_ignores) and whether a
// warning fails the run (FailOn).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/audit.h"
#include "kcbackup/status.h"

namespace kcb {

enum class ReportFormat {
  kText,      // "text": aligned tables for a terminal, colour only when asked
  kJson,      // "json": schema kcbackup.audit.v1
  kMarkdown,  // "markdown": GitHub markdown, summarised past kMarkdownSummaryAbove characters
  kCsv,       // "csv": RFC 4180, one row per item and form
  kSarif,     // "sarif": SARIF 2.1.0, one rule per expectation and warning kind
  kJunit,     // "junit": JUnit XML, one test case per item and expectation
};
std::string_view name_of(ReportFormat format);
// Any case; an unknown name is an InvalidArgument listing the known ones.
Result<ReportFormat> parse_report_format(std::string_view text);

// What fails the gate: a violated expectation always, and with kWarning every warning that was
// not ignored too.
enum class FailOn {
  kViolation,  // "violation"
  kWarning,    // "warning"
};
Result<FailOn> parse_fail_on(std::string_view text);

// The full markdown report is replaced by its summary (counts, violations, warnings grouped by
// kind) past this many bytes, and the summary itself is cut to fit: GitHub refuses a comment or a
// job summary over 65,536 characters, and a byte is never less than a character.
inline constexpr size_t kMarkdownSummaryAbove = 60000;

struct RenderOptions {
  ReportFormat format = ReportFormat::kText;
  const Wrapper* wrapper = nullptr;  // the --wrapper that was applied, if any
  // The items file as the user named it: SARIF's artifact and JUnit's suite name. "-" (standard
  // input) gives SARIF results a logical location only.
  std::string source;
  std::string version;   // kcbackup's version: JSON envelope, SARIF driver
  bool colour = false;   // ANSI colour in text
  bool summary = false;  // markdown: counts, violations and warnings only
  FailOn fail_on = FailOn::kViolation;
  size_t ignored_warnings = 0;  // what apply_ignores removed, so reports can say so
};

// The report as `options.format`, ending with a newline.
std::string render_report(const AuditReport& report, const RenderOptions& options);

// `--ignore KIND` or `--ignore KIND:ITEM`: a warning kind everywhere, or on one item only.
struct IgnoreRule {
  WarningKind kind;
  std::optional<std::string> item;
};
// "half-restored" or "half-restored:session-token"; an unknown kind is an InvalidArgument listing
// the kinds. The item is checked by apply_ignores, which knows the items.
Result<IgnoreRule> parse_ignore_rule(std::string_view text);
Result<WarningKind> parse_warning_kind(std::string_view text);
// Removes the warnings the rules name and returns how many it removed; a rule naming an item
// the report does not have is an InvalidArgument (a typo must not silently ignore nothing).
Result<size_t> apply_ignores(AuditReport& report, std::span<const IgnoreRule> rules);

// Ok, or CheckFailed "N violated expectation(s)" (and, with FailOn::kWarning, "N warning(s)").
Status gate_status(const AuditReport& report, FailOn fail_on);

}  // namespace kcb
