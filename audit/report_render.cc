// render_report (include/kcbackup/audit_render.h): the audit report as text, JSON, markdown and
// CSV here; SARIF and JUnit in report_ci.cc. Everything an item name or message brings is outside
// text: text and markdown show it through printable_text, JSON and CSV carry it exactly.
#include <algorithm>

#include "audit/report_ci.h"
#include "audit/report_json.h"
#include "audit/report_kinds.h"
#include "audit/report_table.h"
#include "kcbackup/audit_render.h"
#include "kcbackup/names.h"
#include "kcbackup/rules.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

using oracle::Fate;
using report::count_of;
using report::Json;
using report::summary_text;
using report::Table;
using report::TableStyle;

bool gate_ok(const AuditReport& report, const RenderOptions& o) {
  return gate_status(report, o.fail_on).ok();
}

bool expects_to_survive(const AuditItem& item, const Form& form) {
  return std::find(item.survives.begin(), item.survives.end(), form) != item.survives.end();
}

// The expectation an item has of one form, as the CSV names it: "survives",
// "never-leaves-device" or "".
std::string_view expectation_at(const AuditItem& item, const Form& form) {
  if (expects_to_survive(item, form)) return name_of(ViolationKind::kSurvives);
  if (item.never_leaves_device && form.target == Target::kOtherDevice) {
    return name_of(ViolationKind::kNeverLeavesDevice);
  }
  return "";
}

const Violation* violation_at(const ItemReport& r, const Form& form) {
  for (const Violation& v : r.violations) {
    if (v.fate.form == form) return &v;
  }
  return nullptr;
}

// ---- JSON ----

Json fate_json(const Fate& f) {
  Json out = {{"journey", name_of(f.form.journey)}, {"target", name_of(f.form.target)}};
  out.update(report::verdict_json(f.verdict));
  return out;
}

Json item_json(const ItemReport& r, const AuditReport& report) {
  Json out = {{"name", r.item.name}};
  out.update(report::traits_json(r.item.traits));
  out["accessible_from"] = name_of(r.item.accessible_from);
  if (r.item.pair) out["pair"] = report.items[*r.item.pair].item.name;
  Json expect = {{"survives", Json::array()}, {"never_leaves_device", r.item.never_leaves_device}};
  for (const Form& f : r.item.survives)
    expect["survives"].push_back(form_name(f));
  out["expect"] = expect;
  out["fates"] = Json::array();
  for (const Fate& f : r.fates)
    out["fates"].push_back(fate_json(f));
  out["violations"] = Json::array();
  for (const Violation& v : r.violations) {
    Json j = {{"kind", name_of(v.kind)}, {"message", v.message}};
    j.update(fate_json(v.fate));
    out["violations"].push_back(j);
  }
  out["warnings"] = Json::array();
  for (const Warning& w : r.warnings) {
    out["warnings"].push_back({{"kind", name_of(w.kind)}, {"message", w.message}});
  }
  return out;
}

// Counts and lists never share a name: per item, `violations` and `warnings` are arrays; at the
// top, `violation_count` and `warning_count` are numbers.
std::string json_report(const AuditReport& report, const RenderOptions& o) {
  Json doc = report::json_envelope("audit", o.version);
  doc["wrapper"] = o.wrapper ? Json(o.wrapper->name) : Json(nullptr);
  doc["icloud_keychain"] = name_of(report.icloud_keychain);
  doc["fail_on"] = o.fail_on == FailOn::kWarning ? "warning" : "violation";
  doc["items"] = Json::array();
  for (const ItemReport& r : report.items)
    doc["items"].push_back(item_json(r, report));
  doc["violation_count"] = report.violation_count();
  doc["warning_count"] = report.warning_count();
  doc["ignored_warning_count"] = o.ignored_warnings;
  doc["ok"] = gate_ok(report, o);
  return report::json_text(doc);
}

// ---- Text ----

std::string paint(const RenderOptions& o, std::string_view text, std::string_view colour) {
  if (!o.colour) return std::string(text);
  return "\x1b[" + std::string(colour) + "m" + std::string(text) + "\x1b[0m";
}

std::string fate_cell(const Fate& f) {
  std::string out(name_of(f.verdict.outcome));
  if (f.verdict.road == Road::kIcloudKeychain) out += " via icloud-keychain";
  return out + "  " + report::rules_text(f.verdict.rules);
}

std::string accessible_text(const AuditItem& item, const Wrapper* wrapper) {
  std::string out = report::traits_text(item.traits);
  if (item.accessible_from == AccessibleFrom::kOsDefault) out += "  [accessible: OS default]";
  if (item.accessible_from == AccessibleFrom::kWrapperDefault && wrapper != nullptr) {
    out += "  [accessible: " + std::string(wrapper->library) + " default]";
  }
  return out;
}

std::string expectations_text(const AuditItem& item) {
  std::string out;
  if (!item.survives.empty()) out = "survive " + report::join_forms(item.survives);
  if (item.never_leaves_device)
    out += (out.empty() ? "" : "; ") + std::string("never leave the device");
  return out.empty() ? "none" : out;
}

std::string icloud_keychain_text(Switch s) {
  if (s == Switch::kUnspecified) {
    return "not said: answered for off on every journey, with a note on what changes when it is on";
  }
  return std::string(name_of(s));
}

void append_text_item(std::string& out, const ItemReport& r, const AuditReport& report,
                      const RenderOptions& o) {
  out +=
      paint(o, printable_text(r.item.name), "1") + "  " + accessible_text(r.item, o.wrapper) + "\n";
  if (r.item.pair)
    out += "  pair:    " + printable_text(report.items[*r.item.pair].item.name) + "\n";
  out += "  expects: " + expectations_text(r.item) + "\n";
  Table table{{"journey", "same-device", "other-device"}, {}};
  for (Journey j : kAllJourneys) {
    std::vector<std::string> row{std::string(name_of(j)), "-", "-"};
    for (const Fate& f : r.fates) {
      if (f.form.journey == j) row[f.form.target == Target::kSameDevice ? 1 : 2] = fate_cell(f);
    }
    table.rows.push_back(row);
  }
  const std::string rows = report::table_text(table, TableStyle::kText);
  for (size_t start = 0; start < rows.size();) {
    const size_t end = rows.find('\n', start);
    out += "  " + rows.substr(start, end - start + 1);
    start = end + 1;
  }
  for (const Violation& v : r.violations) {
    out += "  " + paint(o, "VIOLATION", "31;1") + "  " + printable_text(v.message) + "\n";
    const std::string ios = oracle::ios_versions_text(v.fate.verdict.rules);
    if (!ios.empty()) out += "             iOS: " + ios + "\n";
  }
  for (const Warning& w : r.warnings) {
    out += "  " + paint(o, "warning", "33") + "    " + std::string(name_of(w.kind)) + ": " +
           printable_text(w.message) + "\n";
  }
  out += "\n";
}

std::string text_report(const AuditReport& report, const RenderOptions& o) {
  std::string out;
  if (o.wrapper) {
    out += "wrapper:         " + std::string(o.wrapper->library) + " (default accessibility: " +
           std::string(o.wrapper->default_accessible ? names_of(*o.wrapper->default_accessible).name
                                                     : "none") +
           ")\n";
  }
  out += "iCloud Keychain: " + icloud_keychain_text(report.icloud_keychain) + "\n\n";
  for (const ItemReport& r : report.items)
    append_text_item(out, r, report, o);
  const std::string verdict =
      gate_ok(report, o) ? paint(o, "OK", "32;1") : paint(o, "FAIL", "31;1");
  return out + verdict + ": " + summary_text(report, o.ignored_warnings) + "\n";
}

// ---- Markdown ----

// User-given text as a markdown code span: control characters shown as \xNN, and a fence longer
// than any run of backticks inside, so a name cannot end the span and inject markdown.
std::string markdown_code(std::string_view text) {
  const std::string shown = printable_text(text);
  size_t longest = 0, run = 0;
  for (char c : shown) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !shown.empty() && (shown.front() == '`' || shown.back() == '`');
  const std::string space = pad ? " " : "";
  return fence + space + shown + space + fence;
}

std::string markdown_head(const AuditReport& report, const RenderOptions& o) {
  return "### kcbackup audit: " + std::string(gate_ok(report, o) ? "OK" : "FAIL") + "\n\n" +
         summary_text(report, o.ignored_warnings) +
         ". iCloud Keychain: " + icloud_keychain_text(report.icloud_keychain) + "." +
         (o.wrapper ? " Wrapper: " + std::string(o.wrapper->library) + "." : "") + "\n\n";
}

constexpr std::string_view kMarkdownLegend =
    "Each cell is the item's fate on that journey and target. ✅ marks an expectation of the "
    "item that holds there, ❌ one that is violated (in bold); a cell without a mark carries no "
    "expectation.\n\n";

// The outcome, and the expectation at this form: ✅ held, ❌ violated.
std::string markdown_cell(const ItemReport& r, const Fate& f) {
  std::string outcome(name_of(f.verdict.outcome));
  if (f.verdict.road == Road::kIcloudKeychain) outcome += " (iCloud Keychain)";
  if (expectation_at(r.item, f.form).empty()) return outcome;
  if (violation_at(r, f.form) != nullptr) return "❌ **" + outcome + "**";
  return "✅ " + outcome;
}

std::string markdown_table(const AuditReport& report) {
  Table table{{"item", "accessible"}, {}};
  for (const Form& f : kAllForms) {
    table.headers.push_back(std::string(name_of(f.journey)) + " → " +
                            (f.target == Target::kSameDevice ? "same" : "other"));
  }
  for (const ItemReport& r : report.items) {
    std::vector<std::string> row{markdown_code(r.item.name),
                                 std::string(names_of(r.item.traits.accessible).name)};
    for (const Fate& f : r.fates)
      row.push_back(markdown_cell(r, f));
    table.rows.push_back(row);
  }
  return report::table_text(table, TableStyle::kMarkdown);
}

std::string markdown_full(const AuditReport& report, const RenderOptions& o) {
  std::string out = markdown_head(report, o);
  out += kMarkdownLegend;
  out += markdown_table(report);
  if (report.violation_count() > 0) {
    out += "\n**Violated expectations**\n\n";
    for (const ItemReport& r : report.items) {
      for (const Violation& v : r.violations)
        out += "- ❌ " + markdown_code(r.item.name) + ": " + printable_text(v.message) + "\n";
    }
  }
  if (report.warning_count() > 0) {
    out += "\n**Warnings**\n\n";
    for (const ItemReport& r : report.items) {
      for (const Warning& w : r.warnings) {
        out += "- " + markdown_code(r.item.name) + " (" + std::string(name_of(w.kind)) +
               "): " + printable_text(w.message) + "\n";
      }
    }
  }
  return out;
}

// Lines added while they fit in `budget` bytes; then one line saying how many did not.
class BoundedList {
 public:
  explicit BoundedList(size_t budget) : budget_(budget) {}
  void add(std::string line) {
    if (left_out_ == 0 && text_.size() + line.size() <= budget_) {
      text_ += line;
    } else {
      ++left_out_;
    }
  }
  std::string text(std::string_view what) const {
    if (left_out_ == 0) return text_;
    return text_ + "- … and " + std::to_string(left_out_) + " more " + std::string(what) +
           ": the JSON, SARIF or JUnit report has them all\n";
  }

 private:
  size_t budget_;
  size_t left_out_ = 0;
  std::string text_;
};

// Counts, every violation, and the warnings grouped by kind with the items that have them; cut to
// stay under kMarkdownSummaryAbove whatever the number of items and the length of their names.
std::string markdown_summary(const AuditReport& report, const RenderOptions& o, size_t full_size) {
  std::string out = markdown_head(report, o);
  if (full_size > 0) {
    out += "Summary only: the full report would be " + std::to_string(full_size) +
           " bytes, past the " + std::to_string(kMarkdownSummaryAbove) +
           " that fit a GitHub comment or job summary. `--format json`, `sarif` or `junit` carry "
           "every fate.\n\n";
  }
  // Room for the two lists, each line at most one name (256 bytes) and a message longer.
  constexpr size_t kReserve = 2048;
  const size_t room =
      kMarkdownSummaryAbove - std::min(kMarkdownSummaryAbove, out.size() + kReserve);
  if (report.violation_count() > 0) {
    out += "**Violated expectations** (❌)\n\n";
    BoundedList list(room / 2);
    for (const ItemReport& r : report.items) {
      for (const Violation& v : r.violations)
        list.add("- ❌ " + markdown_code(r.item.name) + ": " + printable_text(v.message) + "\n");
    }
    out += list.text("violations") + "\n";
  }
  if (report.warning_count() > 0) {
    out += "**Warnings** by kind\n\n";
    const size_t used = out.size() + kReserve;
    BoundedList list(kMarkdownSummaryAbove - std::min(kMarkdownSummaryAbove, used));
    for (WarningKind kind : report::all_warning_kinds()) {
      std::vector<std::string> names;
      for (const ItemReport& r : report.items) {
        const bool has = std::any_of(r.warnings.begin(), r.warnings.end(),
                                     [&](const Warning& w) { return w.kind == kind; });
        if (has) names.push_back(markdown_code(r.item.name));
      }
      if (names.empty()) continue;
      list.add("- `" + std::string(name_of(kind)) + "` (" + count_of(names.size(), "item") +
               "): " + std::string(report::description_of(kind)) + "\n");
      // The names as one line, cut at a whole name.
      std::string line = "  ";
      size_t shown = 0;
      for (const std::string& name : names) {
        if (line.size() + name.size() > 1500) break;
        line += (shown++ ? ", " : "") + name;
      }
      if (shown < names.size()) line += " … and " + std::to_string(names.size() - shown) + " more";
      list.add(line + "\n");
    }
    out += list.text("lines of warnings");
  }
  return out;
}

std::string markdown_report(const AuditReport& report, const RenderOptions& o) {
  if (o.summary) return markdown_summary(report, o, 0);
  std::string full = markdown_full(report, o);
  if (full.size() <= kMarkdownSummaryAbove) return full;
  return markdown_summary(report, o, full.size());
}

// ---- CSV ----

std::string csv_report(const AuditReport& report) {
  Table table{{"item", "accessible", "journey", "target", "outcome", "road", "rules", "expected",
               "violation", "warnings"},
              {}};
  for (const ItemReport& r : report.items) {
    std::string warnings;
    std::vector<WarningKind> listed;
    for (const Warning& w : r.warnings) {
      if (std::find(listed.begin(), listed.end(), w.kind) != listed.end()) continue;
      listed.push_back(w.kind);
      warnings += (warnings.empty() ? "" : " ") + std::string(name_of(w.kind));
    }
    for (const Fate& f : r.fates) {
      const Violation* v = violation_at(r, f.form);
      table.rows.push_back(
          {r.item.name, std::string(names_of(r.item.traits.accessible).name),
           std::string(name_of(f.form.journey)), std::string(name_of(f.form.target)),
           std::string(name_of(f.verdict.outcome)), std::string(name_of(f.verdict.road)),
           report::rules_text(f.verdict.rules), std::string(expectation_at(r.item, f.form)),
           v ? std::string(name_of(v->kind)) : "", warnings});
    }
  }
  return report::table_text(table, TableStyle::kCsv);
}

}  // namespace

std::string render_report(const AuditReport& report, const RenderOptions& options) {
  switch (options.format) {
    case ReportFormat::kJson:
      return json_report(report, options);
    case ReportFormat::kMarkdown:
      return markdown_report(report, options);
    case ReportFormat::kCsv:
      return csv_report(report);
    case ReportFormat::kSarif:
      return report::sarif_report(report, options);
    case ReportFormat::kJunit:
      return report::junit_report(report, options);
    case ReportFormat::kText:
      break;
  }
  return text_report(report, options);
}

}  // namespace kcb
