// `kcbackup demo`: the seed's experiment (Apple DTS, 2018) in the simulator. A phone saves a
// WhenUnlocked ("Normal") and a WhenUnlockedThisDeviceOnly generic password, is backed up three
// ways, and each backup is restored onto a different phone and onto the same phone after an erase.
// The engine column comes from real cryptography (kcbackup/seed_experiment.h); the oracle is asked
// separately; the measured column is the published table. CheckFailed (exit 1) on any disagreement.
#include <memory>
#include <ostream>

#include "cli/commands.h"
#include "cli/seed.h"
#include "kcbackup/backup.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"
#include "kcbackup/seed_experiment.h"

namespace kcb::cli {

Status run_demo(const DemoOptions& o, Env&, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  auto engine = run_seed_experiment(*random);
  if (!engine.ok()) return engine.status().with_context("demo");
  Table table{{"accessible", "backed up by", "restore on", "measured", "oracle", "engine", "agree"},
              {}};
  Json rows = Json::array();
  bool all_agree = true;
  for (const auto& row : oracle::measured_table()) {
    auto verdict =
        oracle::predict({{row.accessible, ItemClass::kGenp}, row.journey, row.target, {}});
    KCB_ASSERT(verdict.ok());
    const Outcome by_engine =
        engine->at({row.accessible, row.journey, row.target}) ? Outcome::kRestored : Outcome::kLost;
    const bool agree = verdict->outcome == row.measured && by_engine == row.measured;
    all_agree = all_agree && agree;
    const std::string accessible(names_of(row.accessible).name);
    table.rows.push_back({accessible, std::string(name_of(row.journey)),
                          std::string(name_of(row.target)), std::string(name_of(row.measured)),
                          std::string(name_of(verdict->outcome)), std::string(name_of(by_engine)),
                          agree ? paint("yes", "32") : paint("NO", "31")});
    rows.push_back({{"accessible", accessible},
                    {"journey", name_of(row.journey)},
                    {"target", name_of(row.target)},
                    {"measured", name_of(row.measured)},
                    {"oracle", name_of(verdict->outcome)},
                    {"engine", name_of(by_engine)},
                    {"agree", agree}});
  }
  if (o.format == Format::kJson) {
    Json doc = json_envelope("demo");
    doc["rows"] = rows;
    doc["agree"] = all_agree;
    doc["kdf"] = {{"iterations", kFastKdf.iterations}, {"dp_iterations", kFastKdf.dp_iterations}};
    print_json(out, doc);
  } else {
    out << "The seed's experiment (Apple DTS, iOS 12), replayed in the simulator: a phone "
           "saves a WhenUnlocked\nand a WhenUnlockedThisDeviceOnly item, is backed up three "
           "ways, and each backup is restored\nonto a different phone and onto the same phone "
           "after an erase.\n\n";
    print_table(out, table, o.format);
    out << "\nengine: simulated phones with their own hardware UID, real AES key wrap, "
           "AES-GCM and PBKDF2.\nThe backup password's KDF runs with ITER "
        << kFastKdf.iterations << " and DPIC " << kFastKdf.dp_iterations
        << " so the demo takes a moment; real backups use\n10,000 and 10,000,000 (kcbackup "
           "backup does too, unless given --fast-kdf).\n"
        << (all_agree ? "All 12 rows agree: measured = oracle = engine.\n"
                      : "DISAGREEMENT: see the rows marked NO.\n");
  }
  if (all_agree) return Status::Ok();
  return Status::CheckFailed("demo: measured, oracle and engine disagree on a row");
}

void add_demo_command(CLI::App& app, Status& status) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "The seed's experiment (Apple DTS, 2018): measured / oracle / engine for 12 rows");
  add_format_option(cmd, &o->format, false);
  add_seed_option(cmd, &o->seed);
  cmd->footer(
      "Runs in a few seconds with reduced KDF iteration counts (said in its output).\n"
      "Example:\n  kcbackup demo\n  kcbackup demo --format json");
  run_on_callback(cmd, o, run_demo, status);
}

}  // namespace kcb::cli
