// `kcbackup demo`: the seed's experiment. Until the engine's journeys land this prints the oracle's
// side of the measured table and says plainly that the engine side is not built yet.
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "model/names.h"
#include "oracle/predict.h"
#include "oracle/rules.h"

namespace kcb::cli {

void add_demo_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "demo", "The seed's experiment (Apple DTS, 2018): measured / oracle / engine for 12 rows");
  cmd->callback([&exit_code] {
    Table table{{"accessible", "journey", "target", "measured", "oracle", "engine"}, {}};
    bool agree = true;
    for (const auto& row : oracle::measured_table()) {
      auto v = oracle::predict({{row.accessible, ItemClass::kGenp}, row.journey, row.target, {}});
      KCB_ASSERT(v.ok());
      agree = agree && v->outcome == row.measured;
      table.rows.push_back({std::string(names_of(row.accessible).name),
                            std::string(name_of(row.journey)), std::string(name_of(row.target)),
                            std::string(name_of(row.measured)), std::string(name_of(v->outcome)),
                            "not built yet"});
    }
    print_table(std::cout, table, Format::kText);
    std::cout << "\nThe engine (simulated devices, real cryptography) is not built yet: only the "
                 "oracle's column is real.\n";
    exit_code = agree ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace kcb::cli
