// `kcbackup predict`, `table` and `rules`: asking the oracle.
#include <memory>
#include <ostream>

#include "cli/commands.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/render.h"
#include "kcbackup/seed_table.h"

namespace kcb::cli {

Status run_predict(const PredictOptions& o, Env&, std::ostream& out, std::ostream&) {
  oracle::Question q;
  KCB_ASSIGN_OR_RETURN(q.traits, parse_traits(o.traits));
  KCB_ASSIGN_OR_RETURN(q.settings, parse_settings(o.settings));
  KCB_ASSIGN_OR_RETURN(q.journey, parsed("--journey", parse_journey(o.journey)));
  KCB_ASSIGN_OR_RETURN(q.target, parsed("--target", parse_target(o.target)));
  KCB_ASSIGN_OR_RETURN(Verdict verdict, oracle::predict(q));
  out << render::predict_report(q, verdict, {o.format, use_colour()});
  return Status::Ok();
}

namespace {

Status run_measured_table(Format format, std::ostream& out) {
  const std::vector<harness::SeedRow> rows = harness::seed_rows();
  out << render::measured_report(rows, {format, use_colour()});
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
  out << render::fates_report(traits, settings, o.one_accessible, {o.format, use_colour()});
  return Status::Ok();
}

Status run_rules(const RulesOptions& o, Env&, std::ostream& out, std::ostream&) {
  out << render::rules_report({o.format, use_colour()});
  return Status::Ok();
}

void add_oracle_commands(CLI::App& app, Status& status) {
  add_command(app, status, "predict", run_predict, [](CLI::App* cmd, PredictOptions& o) {
    add_trait_options(cmd, &o.traits);
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
