// `kcbackup demo`: the seed's experiment (Apple DTS, 2018) in the simulator. A phone saves a
// WhenUnlocked ("Normal") and a WhenUnlockedThisDeviceOnly generic password, is backed up three
// ways, and each backup is restored onto a different phone and onto the same phone after an erase.
// The engine column comes from real cryptography (kcbackup/seed_experiment.h); the oracle is asked
// separately; the measured column is the published table. CheckFailed (exit 1) on any disagreement.
#include <memory>
#include <ostream>

#include "cli/commands.h"
#include "cli/seed.h"
#include "kcbackup/render.h"
#include "kcbackup/seed_table.h"

namespace kcb::cli {

Status run_demo(const DemoOptions& o, Env&, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  auto rows = harness::seed_rows_with_engine(*random);
  if (!rows.ok()) return rows.status().with_context("demo");
  out << render::demo_report(*rows, {o.format, use_colour()});
  if (harness::all_agree(*rows)) return Status::Ok();
  return Status::CheckFailed("demo: measured, oracle and engine disagree on a row");
}

void add_demo_command(CLI::App& app, Status& status) {
  add_command(app, status, "demo", run_demo, [](CLI::App* cmd, DemoOptions& o) {
    add_format_option(cmd, &o.format, false);
    add_seed_option(cmd, &o.seed);
  });
}

}  // namespace kcb::cli
