// kcbackup: which keychain items survive which backup, restore or migration, and why.
#include "cli/app.h"

int main(int argc, char** argv) {
  return kcb::cli::run_kcbackup(std::vector<std::string>(argv + 1, argv + argc));
}
