#include "cli/audit.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/item_format.h"
#include "cli/verdict_format.h"
#include "kcbackup/der.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"

namespace kcb::cli {
namespace {

// ---- The checks. ----

std::vector<Fate> fates_of(const Traits& traits, Switch icloud_keychain) {
  std::vector<Fate> fates;
  DeviceSettings settings;
  settings.icloud_keychain = icloud_keychain;
  for (Journey j : kAllJourneys) {
    for (Target t : kAllTargets) {
      auto verdict = oracle::predict({traits, j, t, settings});
      if (!verdict.ok()) continue;  // a journey with no same-device form
      fates.push_back({{j, t}, *verdict});
    }
  }
  return fates;
}

const Fate& fate_at(const std::vector<Fate>& fates, const Form& form) {
  const auto it =
      std::find_if(fates.begin(), fates.end(), [&](const Fate& f) { return f.form == form; });
  KCB_ASSERT(it != fates.end());  // parse_form admits only forms predict answers
  return *it;
}

bool restored(const Fate& f) {
  return f.verdict.outcome == Outcome::kRestored;
}
bool to_other_device(const Fate& f) {
  return f.form.target == Target::kOtherDevice;
}

// "lost (R1 Export filter, R3 Encrypted local backup)"
std::string verdict_phrase(const Verdict& v) {
  std::string out(name_of(v.outcome));
  if (v.outcome == Outcome::kRestored) out += " via " + std::string(name_of(v.road));
  std::string rules;
  for (RuleId id : kAllRules) {
    if (!v.rules.has(id)) continue;
    rules += rules.empty() ? "" : ", ";
    rules += std::string(name_of(id)) + " " + std::string(oracle::rule(id).title);
  }
  return rules.empty() ? out : out + " (" + rules + ")";
}

std::string join_forms(const std::vector<Form>& forms) {
  std::string out;
  for (const Form& f : forms)
    out += (out.empty() ? "" : ", ") + form_name(f);
  return out;
}

void check_expectations(ItemReport& r) {
  for (const Form& form : r.item.survives) {
    const Fate& f = fate_at(r.fates, form);
    if (restored(f)) continue;
    r.violations.push_back(
        {"survives", f,
         "expected to survive " + form_name(form) + ", but " + verdict_phrase(f.verdict)});
  }
  if (!r.item.never_leaves_device) return;
  for (const Fate& f : r.fates) {
    if (!to_other_device(f) || !restored(f)) continue;
    r.violations.push_back({"never-leaves-device", f,
                            "expected never to leave the device, but on " + form_name(f.form) +
                                " it is " + verdict_phrase(f.verdict)});
  }
}

void warn_about_traits(ItemReport& r) {
  const Traits& t = r.item.traits;
  const auto& names = names_of(t.accessible);
  if (names.deprecated) {
    const Accessibility instead = oracle::is_migratory(t.accessible)
                                      ? Accessibility::kAfterFirstUnlock
                                      : Accessibility::kAfterFirstUnlockThisDeviceOnly;
    r.warnings.push_back({"deprecated", std::string(names.constant) +
                                            " is deprecated since iOS 12; use " +
                                            std::string(names_of(instead).constant)});
  }
  if (t.synchronizable && oracle::is_this_device_only(t.accessible)) {
    r.warnings.push_back({"sync-never-syncs",
                          "synchronizable with a ThisDeviceOnly class: the add succeeds but iCloud "
                          "Keychain never syncs it (R6); drop one of the two"});
  }
  if (oracle::check_add(t, /*device_has_passcode=*/true) == AddError::kParam) {
    r.warnings.push_back(
        {"add-fails", t.auth_constraint && t.synchronizable
                          ? "SecItemAdd fails with errSecParam (-50): an access-control constraint "
                            "cannot be synchronizable (R9), so this item never exists"
                          : "SecItemAdd fails with errSecParam (-50): a Secure Enclave token is "
                            "only for class keys (R9), so this item never exists"});
  }
  if (t.accessible == Accessibility::kWhenPasscodeSetThisDeviceOnly) {
    r.warnings.push_back(
        {"passcode-bound",
         "WhenPasscodeSetThisDeviceOnly: in no backup or migration at all (R1), deleted when the "
         "user turns the passcode off, and cannot be added without a passcode (R8)"});
  }
}

bool expects_to_survive(const AuditItem& item, const Form& form) {
  return std::find(item.survives.begin(), item.survives.end(), form) != item.survives.end();
}

// Users can turn iCloud Keychain off (rules.md: wrong beliefs about `synchronizable`), so every
// item that comes back somewhere only through it is warned about, the icloud-keychain journey
// itself included, with the expectations that rest on it.
void warn_about_sync_dependence(ItemReport& r) {
  std::vector<Form> by_backup_journeys, expected;
  bool syncs = false;
  for (const Fate& f : r.fates) {
    if (!restored(f) || f.verdict.road != Road::kIcloudKeychain) continue;
    if (f.form.journey == Journey::kIcloudKeychain) {
      syncs = true;
    } else {
      by_backup_journeys.push_back(f.form);
    }
    if (expects_to_survive(r.item, f.form)) expected.push_back(f.form);
  }
  if (!syncs && by_backup_journeys.empty()) return;
  std::string message = by_backup_journeys.empty()
                            ? "reaches the user's other devices only through iCloud Keychain (R6)"
                            : "comes back on " + join_forms(by_backup_journeys) +
                                  " only through iCloud Keychain (R6)";
  message += ", which users can turn off";
  if (!expected.empty()) message += "; the expectation " + join_forms(expected) + " rests on it";
  r.warnings.push_back({"icloud-keychain-only", message});
}

// The journeys that bring an app's files to a new phone (zodl-ios#1024,
// react-native-mmkv-storage#269: files come back, keys do not).
void warn_about_half_restore(ItemReport& r) {
  std::vector<Form> lost;
  for (Journey j : {Journey::kLocalEncrypted, Journey::kIcloudBackup, Journey::kQuickStart}) {
    const Form form{j, Target::kOtherDevice};
    if (!restored(fate_at(r.fates, form))) lost.push_back(form);
  }
  // An item SecItemAdd refuses never exists; add-fails says so already.
  if (lost.empty() || oracle::check_add(r.item.traits, true) != AddError::kNone) return;
  r.warnings.push_back(
      {"half-restored", "lost on " + join_forms(lost) +
                            " although the app's files come back: detect this half-restored "
                            "state on first launch (app data present, item missing) and recover "
                            "(sign in or enrol again)"});
}

// Declared once, warned once: on the first half of the pair in the document.
void warn_about_pair(const std::vector<ItemReport>& all, size_t index, ItemReport& r) {
  if (!r.item.pair || *r.item.pair < index) return;
  const ItemReport& partner = all[*r.item.pair];
  std::vector<Form> only_mine, only_partner;
  for (const Fate& f : r.fates) {
    const bool mine = restored(f);
    if (mine == restored(fate_at(partner.fates, f.form))) continue;
    (mine ? only_mine : only_partner).push_back(f.form);
  }
  if (only_mine.empty() && only_partner.empty()) return;
  std::string message = "key pair with '" + partner.item.name + "' splits:";
  if (!only_mine.empty()) {
    message += " only '" + r.item.name + "' comes back on " + join_forms(only_mine) + ";";
  }
  if (!only_partner.empty()) {
    message += " only '" + partner.item.name + "' comes back on " + join_forms(only_partner) + ";";
  }
  const bool enclave =
      r.item.traits.token != Token::kNone || partner.item.traits.token != Token::kNone;
  message += enclave ? " a Secure Enclave key never leaves its device (R1): derive the public key "
                       "from it (SecKeyCopyPublicKey) instead of storing it"
                     : " give both halves the same accessibility class";
  r.warnings.push_back({"pair-splits", message});
}

// ---- Output. ----

std::string accessible_origin(const AuditItem& item) {
  switch (item.accessible_from) {
    case AccessibleFrom::kExplicit:
      return "explicit";
    case AccessibleFrom::kOsDefault:
      return "os-default";
    case AccessibleFrom::kWrapperDefault:
      return "wrapper-default";
  }
  return "?";
}

Json fate_json(const Fate& f) {
  Json out = {{"journey", name_of(f.form.journey)}, {"target", name_of(f.form.target)}};
  out.update(verdict_json(f.verdict));
  return out;
}

Json item_json(const ItemReport& r, const AuditReport& report) {
  Json out = {{"name", r.item.name}};
  out.update(traits_json(r.item.traits));
  out["accessible_from"] = accessible_origin(r.item);
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
    Json j = {{"kind", v.kind}, {"message", v.message}};
    j.update(fate_json(v.fate));
    out["violations"].push_back(j);
  }
  out["warnings"] = Json::array();
  for (const Warning& w : r.warnings) {
    out["warnings"].push_back({{"kind", w.kind}, {"message", w.message}});
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
    out << "  " << paint("warning", "33") << "    " << w.kind << ": " << display_text(w.message)
        << "\n";
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
  if (!report.items.empty()) {
    for (const Fate& f : report.items.front().fates) {
      table.headers.push_back(std::string(name_of(f.form.journey)) + " → " +
                              (f.form.target == Target::kSameDevice ? "same" : "other"));
    }
  }
  for (const ItemReport& r : report.items) {
    std::vector<std::string> row{markdown_code(r.item.name),
                                 std::string(names_of(r.item.traits.accessible).name)};
    for (const Fate& f : r.fates) {
      std::string cell = restored(f) ? "✅ restored" : "❌ lost";
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
        out << "- " << markdown_code(r.item.name) << " (" << w.kind
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

// Errors quote keys and values from the file: control characters, and every byte past ASCII when
// the text is not UTF-8, are shown as \xNN, so the error stays one line and steers no terminal.
std::string error_line(std::string_view text) {
  if (is_valid_utf8(text)) return display_text(text);
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  }
  return out;
}

int report_to(std::ostream& err, const Status& status) {
  err << "kcbackup: " << error_line(status.to_string()) << "\n";
  return exit_code_for(status);
}

}  // namespace

size_t AuditReport::violation_count() const {
  size_t n = 0;
  for (const ItemReport& r : items)
    n += r.violations.size();
  return n;
}

size_t AuditReport::warning_count() const {
  size_t n = 0;
  for (const ItemReport& r : items)
    n += r.warnings.size();
  return n;
}

AuditReport audit_items(const AuditInput& input) {
  AuditReport report;
  report.icloud_keychain = input.icloud_keychain;
  for (const AuditItem& item : input.items) {
    report.items.push_back({item, fates_of(item.traits, input.icloud_keychain), {}, {}});
  }
  for (size_t i = 0; i < report.items.size(); ++i) {
    ItemReport& r = report.items[i];
    check_expectations(r);
    warn_about_traits(r);
    warn_about_pair(report.items, i, r);
    warn_about_sync_dependence(r);
    warn_about_half_restore(r);
  }
  return report;
}

int run_audit(const AuditOptions& options, std::ostream& out, std::ostream& err) {
  const Wrapper* wrapper = nullptr;
  if (options.wrapper_given || !options.wrapper.empty()) {
    auto found = find_wrapper(options.wrapper);
    if (!found.ok()) return report_to(err, found.status());
    wrapper = *found;
  }
  auto input = load_audit_input(options.items_path, wrapper);
  if (!input.ok()) return report_to(err, input.status());
  const AuditReport report = audit_items(*input);
  switch (options.format) {
    case Format::kJson:
      print_json_report(out, report, wrapper);
      break;
    case Format::kMarkdown:
      print_markdown_report(out, report, wrapper);
      break;
    case Format::kCsv:
      print_csv_report(out, report);
      break;
    case Format::kText:
      print_text_report(out, report, wrapper);
      break;
  }
  return report.ok() ? kExitOk : kExitCheckFailed;
}

void add_audit_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit",
      "Check an app's keychain items against what the app expects of them on every "
      "backup, restore and migration");
  cmd->add_option("ITEMS", o->items_path,
                  "The items: JSON, XML property list or binary property list (docs/audit.md)")
      ->required();
  std::string wrapper_help =
      "Keychain wrapper whose default accessibility applies when an item "
      "omits `accessible`:";
  for (const Wrapper& w : wrappers())
    wrapper_help += " " + std::string(w.name);
  CLI::Option* wrapper_option = cmd->add_option("--wrapper", o->wrapper, wrapper_help);
  add_format_option(cmd, &o->format, true);
  cmd->footer(
      "Exit codes: 0 every expectation holds (warnings never fail), 1 an expectation is violated, "
      "2 invalid input (the message names the field, e.g. items[2].accessible), 4 unreadable "
      "file.\n\nExample:\n  kcbackup audit examples/audit-banking-app.json --wrapper "
      "keychainaccess --format markdown\n  -> exit 1: refresh-token is lost on "
      "icloud-backup:other-device (R4)");
  cmd->callback([o, wrapper_option, &exit_code] {
    o->wrapper_given = wrapper_option->count() > 0;  // so `--wrapper ""` is an unknown wrapper
    exit_code = run_audit(*o, std::cout, std::cerr);
  });
}

}  // namespace kcb::cli
