// `kcbackup predict`, `table` and `rules`: asking the oracle.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/verdict_format.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"

namespace kcb::cli {
namespace {

struct PredictOptions {
  TraitOptions traits;
  SettingsOptions settings;
  std::string journey;
  std::string target;
  Format format = Format::kText;
};

int run_predict(const PredictOptions& o) {
  oracle::Question q;
  auto traits = parse_traits(o.traits);
  if (!traits.ok()) return report_error(traits.status());
  auto settings = parse_settings(o.settings);
  if (!settings.ok()) return report_error(settings.status());
  auto journey = parse_journey(o.journey);
  if (!journey.ok()) return report_error(journey.status().with_context("--journey"));
  auto target = parse_target(o.target);
  if (!target.ok()) return report_error(target.status().with_context("--target"));
  q = {*traits, *journey, *target, *settings};
  auto verdict = oracle::predict(q);
  if (!verdict.ok()) return report_error(verdict.status());
  if (o.format == Format::kJson) {
    Json doc = json_envelope("predict");
    doc["item"] = traits_json(q.traits);
    doc["journey"] = name_of(q.journey);
    doc["target"] = name_of(q.target);
    doc.update(verdict_json(*verdict));
    print_json(std::cout, doc);
  } else {
    print_verdict_text(std::cout, q, *verdict);
  }
  return kExitOk;
}

struct TableOptions {
  TraitOptions traits;
  bool one_accessible = false;  // --accessible given: that class's rows only
  SettingsOptions settings;
  bool measured = false;
  Format format = Format::kText;
};

int run_measured_table(Format format) {
  Table table{{"accessible", "journey", "target", "measured", "oracle", "agree"}, {}};
  Json rows = Json::array();
  bool all_agree = true;
  for (const auto& row : oracle::measured_table()) {
    const oracle::Question q{{row.accessible, ItemClass::kGenp}, row.journey, row.target, {}};
    auto verdict = oracle::predict(q);
    KCB_ASSERT(verdict.ok());
    const bool agree = verdict->outcome == row.measured;
    all_agree = all_agree && agree;
    const std::string accessible(names_of(row.accessible).name);
    table.rows.push_back({accessible, std::string(name_of(row.journey)),
                          std::string(name_of(row.target)), std::string(name_of(row.measured)),
                          std::string(name_of(verdict->outcome)), agree ? "yes" : "NO"});
    rows.push_back({{"accessible", accessible},
                    {"journey", name_of(row.journey)},
                    {"target", name_of(row.target)},
                    {"measured", name_of(row.measured)},
                    {"oracle", name_of(verdict->outcome)},
                    {"rules", rules_json(verdict->rules)},
                    {"source", row.source}});
  }
  if (format == Format::kJson) {
    Json doc = json_envelope("table.measured");
    doc["rows"] = rows;
    doc["agree"] = all_agree;
    print_json(std::cout, doc);
  } else {
    print_table(std::cout, table, format);
    if (format == Format::kText) {
      std::cout << "\nSource: " << oracle::measured_table()[0].source << "\n";
    }
  }
  return all_agree ? kExitOk : kExitCheckFailed;
}

int run_table(const TableOptions& o) {
  if (o.measured) return run_measured_table(o.format);
  auto traits = parse_traits(o.traits);
  if (!traits.ok()) return report_error(traits.status());
  auto settings = parse_settings(o.settings);
  if (!settings.ok()) return report_error(settings.status());
  Table table{{"accessible", "journey", "target", "outcome", "road", "rules", "confidence"}, {}};
  Json rows = Json::array();
  for (Accessibility a : kAllAccessibilities) {
    if (o.one_accessible && a != traits->accessible) continue;
    for (Journey j : kAllJourneys) {
      for (Target t : kAllTargets) {
        oracle::Question q{*traits, j, t, *settings};
        q.traits.accessible = a;
        auto verdict = oracle::predict(q);
        if (!verdict.ok()) continue;  // a journey with no same-device form
        table.rows.push_back({std::string(names_of(a).name), std::string(name_of(j)),
                              std::string(name_of(t)), std::string(name_of(verdict->outcome)),
                              std::string(name_of(verdict->road)), rules_text(verdict->rules),
                              std::string(name_of(verdict->confidence))});
        Json row = {
            {"accessible", names_of(a).name}, {"journey", name_of(j)}, {"target", name_of(t)}};
        row.update(verdict_json(*verdict));
        rows.push_back(row);
      }
    }
  }
  if (o.format == Format::kJson) {
    Json doc = json_envelope("table");
    Json item = traits_json(*traits);
    if (!o.one_accessible) {
      item.erase("accessible");
      item.erase("pdmn");
    }
    doc["item"] = item;
    doc["rows"] = rows;
    print_json(std::cout, doc);
  } else {
    print_table(std::cout, table, o.format);
  }
  return kExitOk;
}

int run_rules(Format format) {
  if (format == Format::kJson) {
    Json doc = json_envelope("rules");
    Json list = Json::array();
    for (const auto& r : oracle::rules()) {
      list.push_back({{"id", name_of(r.id)},
                      {"title", r.title},
                      {"statement", r.statement},
                      {"confidence", name_of(r.confidence)},
                      {"sources", r.sources}});
    }
    doc["rules"] = list;
    print_json(std::cout, doc);
    return kExitOk;
  }
  for (const auto& r : oracle::rules()) {
    std::cout << paint(std::string(name_of(r.id)) + " " + std::string(r.title), "1") << "  ("
              << name_of(r.confidence) << ")\n  " << r.statement << "\n  Sources: " << r.sources
              << "\n\n";
  }
  return kExitOk;
}

}  // namespace

void add_predict_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Ask the oracle what happens to one keychain item");
  add_trait_options(cmd, &o->traits);
  add_settings_options(cmd, &o->settings);
  cmd->add_option("--journey,-j", o->journey,
                  "local, local-encrypted, icloud-backup, quick-start or icloud-keychain")
      ->required();
  cmd->add_option("--target,-t", o->target, "same-device or other-device")->required();
  add_format_option(cmd, &o->format, false);
  cmd->footer(
      "Example:\n  kcbackup predict --accessible WhenUnlockedThisDeviceOnly "
      "--journey local-encrypted --target other-device\n  -> lost (R3: ThisDeviceOnly class keys "
      "keep the device layer)");
  cmd->callback([o, &exit_code] { exit_code = run_predict(*o); });
}

void add_table_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TableOptions>();
  CLI::App* cmd = app.add_subcommand(
      "table",
      "The verdict matrix: every accessibility class (or the one --accessible names) by every "
      "journey and target");
  cmd->add_flag("--measured", o->measured,
                "Print the seed's 12 measured rows (Apple DTS, iOS 12) beside the oracle's answer; "
                "exit 1 if any disagrees");
  add_trait_options(cmd, &o->traits);
  add_settings_options(cmd, &o->settings);
  add_format_option(cmd, &o->format, true);
  cmd->footer(
      "Examples:\n  kcbackup table --measured\n  kcbackup table --synchronizable --icloud-keychain "
      "on --format markdown");
  cmd->callback([o, cmd, &exit_code] {
    o->one_accessible = cmd->count("--accessible") > 0;
    exit_code = run_table(*o);
  });
}

void add_rules_command(CLI::App& app, int& exit_code) {
  auto format = std::make_shared<Format>(Format::kText);
  CLI::App* cmd =
      app.add_subcommand("rules", "The backup rules the oracle knows, with confidence and sources");
  add_format_option(cmd, format.get(), false);
  cmd->footer("Example:\n  kcbackup rules --format json");
  cmd->callback([format, &exit_code] { exit_code = run_rules(*format); });
}

}  // namespace kcb::cli
