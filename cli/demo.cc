// `kcbackup demo`: the seed's experiment (Apple DTS, 2018) in the simulator. A phone saves a
// WhenUnlocked ("Normal") and a WhenUnlockedThisDeviceOnly generic password, is backed up three
// ways, and each backup is restored onto a different phone and onto the same phone after an erase.
// The engine column comes from real cryptography (kcbackup/seed_experiment.h); the oracle is asked
// separately; the measured column is the published table. CheckFailed (exit 1) on any disagreement.
#include <memory>
#include <ostream>

#include "cli/commands.h"
#include "cli/seed.h"
#include "cli/verdict_format.h"
#include "kcbackup/backup.h"
#include "kcbackup/names.h"
#include "kcbackup/seed_table.h"

namespace kcb::cli {

Status run_demo(const DemoOptions& o, Env&, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto random, random_for(o.seed));
  auto rows = harness::seed_rows_with_engine(*random);
  if (!rows.ok()) return rows.status().with_context("demo");
  const bool agree = harness::all_agree(*rows);
  if (o.format == Format::kJson) {
    Json doc = json_envelope("demo");
    doc["rows"] = seed_rows_json(*rows);
    doc["agree"] = agree;
    doc["kdf"] = {{"iterations", kFastKdf.iterations}, {"dp_iterations", kFastKdf.dp_iterations}};
    print_json(out, doc);
  } else {
    out << "The seed's experiment (Apple DTS, iOS 12), replayed in the simulator: a phone "
           "saves a WhenUnlocked\nand a WhenUnlockedThisDeviceOnly item, is backed up three "
           "ways, and each backup is restored\nonto a different phone and onto the same phone "
           "after an erase.\n\n";
    print_table(out, seed_rows_table(*rows), o.format);
    out << "\nengine: simulated phones with their own hardware UID, real AES key wrap, "
           "AES-GCM and PBKDF2.\nThe backup password's KDF runs with ITER "
        << kFastKdf.iterations << " and DPIC " << kFastKdf.dp_iterations
        << " so the demo takes a moment; real backups use\n10,000 and 10,000,000 (kcbackup "
           "backup does too, unless given --fast-kdf).\n"
        << (agree ? "All 12 rows agree: measured = oracle = engine.\n"
                  : "DISAGREEMENT: see the rows marked NO.\n");
  }
  if (agree) return Status::Ok();
  return Status::CheckFailed("demo: measured, oracle and engine disagree on a row");
}

void add_demo_command(CLI::App& app, Status& status) {
  add_command(app, status, "demo", run_demo, [](CLI::App* cmd, DemoOptions& o) {
    add_format_option(cmd, &o.format, false);
    add_seed_option(cmd, &o.seed);
  });
}

}  // namespace kcb::cli
