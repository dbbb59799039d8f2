#include "cli/audit_command.h"

#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/item_format.h"
#include "cli/verdict_format.h"
#include "kcbackup/audit.h"
#include "kcbackup/der.h"
#include "kcbackup/names.h"

namespace kcb::cli {
namespace {

using oracle::Fate;

std::string join_forms(const std::vector<Form>& forms) {
  std::string out;
  for (const Form& f : forms)
    out += (out.empty() ? "" : ", ") + form_name(f);
  return out;
}

// ---- JSON ----

Json fate_json(const Fate& f) {
  Json out = {{"journey", name_of(f.form.journey)}, {"target", name_of(f.form.target)}};
  out.update(verdict_json(f.verdict));
  return out;
}

Json item_json(const ItemReport& r, const AuditReport& report) {
  Json out = {{"name", r.item.name}};
  out.update(traits_json(r.item.traits));
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

void print_json_report(std::ostream& out, const AuditReport& report, const Wrapper* wrapper) {
  Json doc = json_envelope("audit");
  doc["wrapper"] = wrapper ? Json(wrapper->name) : Json(nullptr);
  doc["icloud_keychain"] = name_of(report.icloud_keychain);
  doc["items"] = Json::array();
  for (const ItemReport& r : report.items)
    doc["items"].push_back(item_json(r, report));
  doc["violations"] = report.violation_count();
  doc["warnings"] = report.warning_count();
  doc["ok"] = report.ok();
  print_json(out, doc);
}

// ---- Text ----

std::string fate_cell(const Fate& f) {
  std::string out(name_of(f.verdict.outcome));
  if (f.verdict.road == Road::kIcloudKeychain) out += " via icloud-keychain";
  return out + "  " + rules_text(f.verdict.rules);
}

std::string accessible_text(const AuditItem& item, const Wrapper* wrapper) {
  std::string out = traits_text(item.traits);
  if (item.accessible_from == AccessibleFrom::kOsDefault) out += "  [accessible: OS default]";
  if (item.accessible_from == AccessibleFrom::kWrapperDefault) {
    out += "  [accessible: " + std::string(wrapper->library) + " default]";
  }
  return out;
}

std::string expectations_text(const AuditItem& item) {
  std::string out;
  if (!item.survives.empty()) out = "survive " + join_forms(item.survives);
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

std::string count_of(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::string summary_text(const AuditReport& report) {
  size_t failing = 0;
  for (const ItemReport& r : report.items)
    failing += r.violations.empty() ? 0 : 1;
  return count_of(report.items.size(), "item") + ", " +
         count_of(report.violation_count(), "violated expectation") + " in " +
         count_of(failing, "item") + ", " + count_of(report.warning_count(), "warning");
}

void print_text_item(std::ostream& out, const ItemReport& r, const AuditReport& report,
                     const Wrapper* wrapper) {
  out << paint(display_text(r.item.name), "1") << "  " << accessible_text(r.item, wrapper) << "\n";
  if (r.item.pair)
    out << "  pair:    " << display_text(report.items[*r.item.pair].item.name) << "\n";
  out << "  expects: " << expectations_text(r.item) << "\n";
  Table table{{"journey", "same-device", "other-device"}, {}};
  for (Journey j : kAllJourneys) {
    std::vector<std::string> row{std::string(name_of(j)), "-", "-"};
    for (const Fate& f : r.fates) {
      if (f.form.journey == j) row[f.form.target == Target::kSameDevice ? 1 : 2] = fate_cell(f);
    }
    table.rows.push_back(row);
  }
  std::ostringstream rows;
  print_table(rows, table, Format::kText);
  std::istringstream lines(rows.str());
  for (std::string line; std::getline(lines, line);)
    out << "  " << line << "\n";
  for (const Violation& v : r.violations) {
    out << "  " << paint("VIOLATION", "31;1") << "  " << display_text(v.message) << "\n";
  }
  for (const Warning& w : r.warnings) {
    out << "  " << paint("warning", "33") << "    " << name_of(w.kind) << ": "
        << display_text(w.message) << "\n";
  }
  out << "\n";
}

void print_text_report(std::ostream& out, const AuditReport& report, const Wrapper* wrapper) {
  if (wrapper) {
    out << "wrapper:         " << wrapper->library << " (default accessibility: "
        << (wrapper->default_accessible ? names_of(*wrapper->default_accessible).name : "none")
        << ")\n";
  }
  out << "iCloud Keychain: " << icloud_keychain_text(report.icloud_keychain) << "\n\n";
  for (const ItemReport& r : report.items)
    print_text_item(out, r, report, wrapper);
  const std::string verdict = report.ok() ? paint("OK", "32;1") : paint("FAIL", "31;1");
  out << verdict << ": " << summary_text(report) << "\n";
}

// ---- Markdown and CSV ----

// User-given text as a markdown code span: control characters shown as \xNN, and a fence longer
// than any run of backticks inside, so a name cannot end the span and inject markdown.
std::string markdown_code(std::string_view text) {
  const std::string shown = display_text(text);
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

void print_markdown_report(std::ostream& out, const AuditReport& report, const Wrapper* wrapper) {
  out << "### kcbackup audit: " << (report.ok() ? "OK" : "FAIL") << "\n\n"
      << summary_text(report)
      << ". iCloud Keychain: " << icloud_keychain_text(report.icloud_keychain) << "."
      << (wrapper ? " Wrapper: " + std::string(wrapper->library) + "." : "") << "\n\n";
  Table table{{"item", "accessible"}, {}};
  if (!report.items.empty()) {  // no item, no fate columns
    for (const Form& f : kAllForms) {
      table.headers.push_back(std::string(name_of(f.journey)) + " → " +
                              (f.target == Target::kSameDevice ? "same" : "other"));
    }
  }
  for (const ItemReport& r : report.items) {
    std::vector<std::string> row{markdown_code(r.item.name),
                                 std::string(names_of(r.item.traits.accessible).name)};
    for (const Fate& f : r.fates) {
      std::string cell = f.verdict.outcome == Outcome::kRestored ? "✅ restored" : "❌ lost";
      if (f.verdict.road == Road::kIcloudKeychain) cell += " (iCloud Keychain)";
      row.push_back(cell);
    }
    table.rows.push_back(row);
  }
  print_table(out, table, Format::kMarkdown);
  if (report.violation_count() > 0) {
    out << "\n**Violated expectations**\n\n";
    for (const ItemReport& r : report.items) {
      for (const Violation& v : r.violations)
        out << "- " << markdown_code(r.item.name) << ": " << display_text(v.message) << "\n";
    }
  }
  if (report.warning_count() > 0) {
    out << "\n**Warnings**\n\n";
    for (const ItemReport& r : report.items) {
      for (const Warning& w : r.warnings) {
        out << "- " << markdown_code(r.item.name) << " (" << name_of(w.kind)
            << "): " << display_text(w.message) << "\n";
      }
    }
  }
}

void print_csv_report(std::ostream& out, const AuditReport& report) {
  Table table{{"item", "accessible", "journey", "target", "outcome", "road", "rules"}, {}};
  for (const ItemReport& r : report.items) {
    for (const Fate& f : r.fates) {
      table.rows.push_back({r.item.name, std::string(names_of(r.item.traits.accessible).name),
                            std::string(name_of(f.form.journey)),
                            std::string(name_of(f.form.target)),
                            std::string(name_of(f.verdict.outcome)),
                            std::string(name_of(f.verdict.road)), rules_text(f.verdict.rules)});
    }
  }
  print_table(out, table, Format::kCsv);
}

void print_report(std::ostream& out, const AuditReport& report, const Wrapper* wrapper,
                  Format format) {
  switch (format) {
    case Format::kJson:
      return print_json_report(out, report, wrapper);
    case Format::kMarkdown:
      return print_markdown_report(out, report, wrapper);
    case Format::kCsv:
      return print_csv_report(out, report);
    case Format::kText:
      return print_text_report(out, report, wrapper);
  }
}

}  // namespace

Status run_audit(const AuditOptions& options, Env& env, std::ostream& out, std::ostream&) {
  const Wrapper* wrapper = nullptr;
  if (options.wrapper_given || !options.wrapper.empty()) {
    KCB_ASSIGN_OR_RETURN(wrapper, find_wrapper(options.wrapper));
  }
  KCB_ASSIGN_OR_RETURN(const Bytes bytes, env.read_file(options.items_path, kMaxAuditFileBytes));
  KCB_ASSIGN_OR_RETURN(const AuditInput input,
                       parse_audit_document(bytes, wrapper, options.items_path));
  const AuditReport report = audit(input);
  print_report(out, report, wrapper, options.format);
  if (report.ok()) return Status::Ok();
  return Status::CheckFailed(count_of(report.violation_count(), "violated expectation"));
}

void add_audit_command(CLI::App& app, Status& status) {
  add_command(
      app, status, "audit",
      "Check an app's keychain items against what the app expects of them on every backup, "
      "restore and migration",
      "Exit codes: 0 every expectation holds (warnings never fail), 1 an expectation is violated, "
      "2 invalid input (the message names the field, e.g. items[2].accessible), 4 unreadable "
      "file.\n\nExample:\n  kcbackup audit examples/audit-banking-app.json --wrapper "
      "keychainaccess --format markdown\n  -> exit 1: refresh-token is lost on "
      "icloud-backup:other-device (R4)",
      run_audit, [](CLI::App* cmd, AuditOptions& o) {
        cmd->add_option("ITEMS", o.items_path,
                        "The items: JSON, XML property list or binary property list "
                        "(docs/audit.md)")
            ->required();
        std::string wrapper_help =
            "Keychain wrapper whose default accessibility applies when an item omits "
            "`accessible`:";
        for (const Wrapper& w : wrappers())
          wrapper_help += " " + std::string(w.name);
        // Given at all, even as "": so `--wrapper ""` is an unknown wrapper, not none.
        cmd->add_option("--wrapper", o.wrapper, wrapper_help)->each([&o](const std::string&) {
          o.wrapper_given = true;
        });
        add_format_option(cmd, &o.format, true);
      });
}

}  // namespace kcb::cli
