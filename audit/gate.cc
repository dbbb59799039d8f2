// The gate policies of include/kcbackup/audit_render.h: report formats by name, --fail-on,
// --ignore, and the Status a report gives the run.
#include <algorithm>
#include <cctype>

#include "audit/report_kinds.h"
#include "kcbackup/audit_render.h"

namespace kcb {
namespace {

constexpr ReportFormat kFormats[] = {ReportFormat::kText,     ReportFormat::kJson,
                                     ReportFormat::kMarkdown, ReportFormat::kCsv,
                                     ReportFormat::kSarif,    ReportFormat::kJunit};

// Case does not matter, and '_' is '-': "Half_Restored" is half-restored.
std::string fold(std::string_view text) {
  std::string out;
  for (char c : text)
    out.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace

std::string_view name_of(ReportFormat format) {
  switch (format) {
    case ReportFormat::kText:
      return "text";
    case ReportFormat::kJson:
      return "json";
    case ReportFormat::kMarkdown:
      return "markdown";
    case ReportFormat::kCsv:
      return "csv";
    case ReportFormat::kSarif:
      return "sarif";
    case ReportFormat::kJunit:
      return "junit";
  }
  return "?";
}

Result<ReportFormat> parse_report_format(std::string_view text) {
  std::string known;
  for (ReportFormat f : kFormats) {
    if (fold(text) == name_of(f)) return f;
    known += (known.empty() ? "" : "|") + std::string(name_of(f));
  }
  return Status::InvalidArgument("unknown format '" + std::string(text) + "'; expected " + known);
}

Result<FailOn> parse_fail_on(std::string_view text) {
  if (fold(text) == "violation") return FailOn::kViolation;
  if (fold(text) == "warning") return FailOn::kWarning;
  return Status::InvalidArgument("--fail-on: unknown level '" + std::string(text) +
                                 "'; expected violation or warning");
}

Result<WarningKind> parse_warning_kind(std::string_view text) {
  std::string known;
  for (WarningKind kind : report::all_warning_kinds()) {
    if (fold(text) == name_of(kind)) return kind;
    known += " " + std::string(name_of(kind));
  }
  return Status::InvalidArgument("unknown warning kind '" + std::string(text) +
                                 "'; expected one of:" + known);
}

Result<IgnoreRule> parse_ignore_rule(std::string_view text) {
  const size_t colon = text.find(':');
  IgnoreRule rule{};
  auto kind = parse_warning_kind(text.substr(0, colon));
  if (!kind.ok()) return kind.status().with_context("--ignore");
  rule.kind = *kind;
  if (colon != std::string_view::npos) {
    if (colon + 1 == text.size()) {
      return Status::InvalidArgument("--ignore: '" + std::string(text) +
                                     "' names no item after ':' (KIND or KIND:ITEM)");
    }
    rule.item = std::string(text.substr(colon + 1));
  }
  return rule;
}

Result<size_t> apply_ignores(AuditReport& report, std::span<const IgnoreRule> rules) {
  for (const IgnoreRule& rule : rules) {
    if (!rule.item) continue;
    const bool known = std::any_of(report.items.begin(), report.items.end(),
                                   [&](const ItemReport& r) { return r.item.name == *rule.item; });
    if (!known) {
      return Status::InvalidArgument("--ignore: no item named '" + *rule.item + "' (" +
                                     std::string(name_of(rule.kind)) + ":" + *rule.item + ")");
    }
  }
  size_t removed = 0;
  for (ItemReport& r : report.items) {
    const auto ignored = [&](const Warning& w) {
      return std::any_of(rules.begin(), rules.end(), [&](const IgnoreRule& rule) {
        return rule.kind == w.kind && (!rule.item || *rule.item == r.item.name);
      });
    };
    const auto kept = std::remove_if(r.warnings.begin(), r.warnings.end(), ignored);
    removed += static_cast<size_t>(r.warnings.end() - kept);
    r.warnings.erase(kept, r.warnings.end());
  }
  return removed;
}

Status gate_status(const AuditReport& report, FailOn fail_on) {
  const size_t violations = report.violation_count();
  const size_t warnings = fail_on == FailOn::kWarning ? report.warning_count() : 0;
  if (violations == 0 && warnings == 0) return Status::Ok();
  std::string message;
  if (violations > 0) message = report::count_of(violations, "violated expectation");
  if (warnings > 0) {
    message += (message.empty() ? "" : ", ") + report::count_of(warnings, "warning") +
               " (--fail-on warning)";
  }
  return Status::CheckFailed(message);
}

}  // namespace kcb
