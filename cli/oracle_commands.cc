// `kcbackup predict`, `table` and `rules`: asking the oracle.
#include <memory>
#include <ostream>

#include "cli/commands.h"
#include "cli/verdict_format.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"
#include "kcbackup/seed_table.h"

namespace kcb::cli {

Status run_predict(const PredictOptions& o, Env&, std::ostream& out, std::ostream&) {
  oracle::Question q;
  KCB_ASSIGN_OR_RETURN(q.traits, parse_traits(o.traits));
  KCB_ASSIGN_OR_RETURN(q.settings, parse_settings(o.settings));
  KCB_ASSIGN_OR_RETURN(q.journey, parsed("--journey", parse_journey(o.journey)));
  KCB_ASSIGN_OR_RETURN(q.target, parsed("--target", parse_target(o.target)));
  KCB_ASSIGN_OR_RETURN(Verdict verdict, oracle::predict(q));
  if (o.format != Format::kJson) {
    print_verdict_text(out, q, verdict);
    return Status::Ok();
  }
  Json doc = json_envelope("predict");
  doc["item"] = traits_json(q.traits);
  doc["journey"] = name_of(q.journey);
  doc["target"] = name_of(q.target);
  doc.update(verdict_json(verdict));
  print_json(out, doc);
  return Status::Ok();
}

namespace {

Status run_measured_table(Format format, std::ostream& out) {
  const std::vector<harness::SeedRow> rows = harness::seed_rows();
  if (format == Format::kJson) {
    Json doc = json_envelope("table.measured");
    doc["rows"] = seed_rows_json(rows);
    doc["agree"] = harness::all_agree(rows);
    print_json(out, doc);
  } else {
    print_table(out, seed_rows_table(rows), format);
    if (format == Format::kText) out << "\nSource: " << rows[0].measured.source << "\n";
  }
  if (harness::all_agree(rows)) return Status::Ok();
  return Status::CheckFailed("table --measured: the oracle disagrees with a measured row");
}

// The seed's rows are fixed measurements (WhenUnlocked and WhenUnlockedThisDeviceOnly genp items,
// nothing else set): a filter they cannot honour is refused, not silently ignored (#16).
Status refuse_measured_filters(const TableOptions& o) {
  const TraitOptions traits;
  const SettingsOptions settings;
  std::string given;
  const auto add = [&given](bool set, const char* option) {
    if (set) given += (given.empty() ? "" : ", ") + std::string(option);
  };
  add(o.one_accessible, "--accessible");
  add(o.traits.item_class != traits.item_class, "--class");
  add(o.traits.synchronizable, "--synchronizable");
  add(o.traits.token != traits.token, "--token");
  add(o.traits.auth_constraint, "--auth-constraint");
  add(o.settings.passcode != settings.passcode, "--passcode");
  add(o.settings.icloud_keychain != settings.icloud_keychain, "--icloud-keychain");
  if (given.empty()) return Status::Ok();
  return Status::InvalidArgument(
      "table --measured: the seed's 12 rows were measured for WhenUnlocked and "
      "WhenUnlockedThisDeviceOnly genp items only, so they cannot honour " +
      given + "; drop --measured to ask the oracle");
}

}  // namespace

Status run_table(const TableOptions& o, Env&, std::ostream& out, std::ostream&) {
  if (o.measured) {
    KCB_RETURN_IF_ERROR(refuse_measured_filters(o));
    return run_measured_table(o.format, out);
  }
  KCB_ASSIGN_OR_RETURN(Traits traits, parse_traits(o.traits));
  KCB_ASSIGN_OR_RETURN(DeviceSettings settings, parse_settings(o.settings));
  Table table{{"accessible", "journey", "target", "outcome", "road", "rules", "confidence"}, {}};
  Json rows = Json::array();
  for (Accessibility a : kAllAccessibilities) {
    if (o.one_accessible && a != traits.accessible) continue;
    Traits row_traits = traits;
    row_traits.accessible = a;
    for (const oracle::Fate& f : oracle::fates(row_traits, settings)) {
      const Verdict& v = f.verdict;
      table.rows.push_back({std::string(names_of(a).name), std::string(name_of(f.form.journey)),
                            std::string(name_of(f.form.target)), std::string(name_of(v.outcome)),
                            std::string(name_of(v.road)), rules_text(v.rules),
                            std::string(name_of(v.confidence))});
      Json row = {{"accessible", names_of(a).name},
                  {"journey", name_of(f.form.journey)},
                  {"target", name_of(f.form.target)}};
      row.update(verdict_json(v));
      rows.push_back(row);
    }
  }
  if (o.format != Format::kJson) {
    print_table(out, table, o.format);
    return Status::Ok();
  }
  Json doc = json_envelope("table");
  Json item = traits_json(traits);
  if (!o.one_accessible) {
    item.erase("accessible");
    item.erase("pdmn");
  }
  doc["item"] = item;
  doc["rows"] = rows;
  print_json(out, doc);
  return Status::Ok();
}

Status run_rules(const RulesOptions& o, Env&, std::ostream& out, std::ostream&) {
  if (o.format != Format::kJson) {
    for (const auto& r : oracle::rules()) {
      out << paint(std::string(name_of(r.id)) + " " + std::string(r.title), "1") << "  ("
          << name_of(r.confidence) << ")\n  " << r.statement << "\n  Sources: " << r.sources
          << "\n  iOS: " << r.ios_versions << "\n\n";
    }
    return Status::Ok();
  }
  Json doc = json_envelope("rules");
  Json list = Json::array();
  for (const auto& r : oracle::rules()) {
    list.push_back({{"id", name_of(r.id)},
                    {"title", r.title},
                    {"statement", r.statement},
                    {"confidence", name_of(r.confidence)},
                    {"sources", r.sources},
                    {"ios_versions", r.ios_versions}});
  }
  doc["rules"] = list;
  print_json(out, doc);
  return Status::Ok();
}

void add_oracle_commands(CLI::App& app, Status& status) {
  add_command(app, status, "predict", run_predict, [](CLI::App* cmd, PredictOptions& o) {
    add_trait_options(cmd, &o.traits);
    add_app_clip_flag(cmd, &o.traits);
    add_settings_options(cmd, &o.settings);
    cmd->add_option("--journey,-j", o.journey,
                    "local, local-encrypted, icloud-backup, quick-start or "
                    "icloud-keychain")
        ->required();
    cmd->add_option("--target,-t", o.target, "same-device or other-device")->required();
    add_format_option(cmd, &o.format, false);
  });
  add_command(app, status, "table", run_table, [](CLI::App* cmd, TableOptions& o) {
    cmd->add_flag("--measured", o.measured,
                  "Print the seed's 12 measured rows (Apple DTS, iOS 12) beside the "
                  "oracle's answer; exit 1 if any disagrees");
    add_trait_options(cmd, &o.traits);
    add_app_clip_flag(cmd, &o.traits);
    // table prints every class unless --accessible names one: no default to show in --help.
    cmd->get_option("--accessible")
        ->default_str("")
        ->description(
            "Only this class's rows (any spelling, as for predict); every class when "
            "absent")
        ->each([&o](const std::string&) { o.one_accessible = true; });
    add_settings_options(cmd, &o.settings);
    add_format_option(cmd, &o.format, true);
  });
  add_command(app, status, "rules", run_rules,
              [](CLI::App* cmd, RulesOptions& o) { add_format_option(cmd, &o.format, false); });
}

}  // namespace kcb::cli
