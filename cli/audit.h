// `kcbackup audit`: each of an app's keychain items on every journey and target according to the
// oracle, the app's expectations checked against those fates (violations make exit 1), and
// warnings that never fail the run: deprecated classes, items that never sync or cannot be added,
// passcode-bound items, key pairs that split, items that reach a new phone only through iCloud
// Keychain, and the half-restored state when app files come back without their keys (rules.md,
// "What developers hit in practice"). docs/audit.md is the user's guide.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/audit_input.h"
#include "cli/output.h"
#include "kcbackup/model.h"

namespace kcb::cli {

struct Fate {
  Form form;
  Verdict verdict;
};

// A violated expectation: the form it was about and the oracle's verdict there.
struct Violation {
  std::string kind;  // "survives" or "never-leaves-device"
  Fate fate;
  std::string message;
};

struct Warning {
  // "deprecated", "sync-never-syncs", "add-fails", "passcode-bound", "pair-splits",
  // "icloud-keychain-only", "half-restored"
  std::string kind;
  std::string message;
};

struct ItemReport {
  AuditItem item;
  std::vector<Fate> fates;  // every valid journey x target, in model.h order
  std::vector<Violation> violations;
  std::vector<Warning> warnings;
};

struct AuditReport {
  Switch icloud_keychain = Switch::kUnspecified;
  std::vector<ItemReport> items;
  size_t violation_count() const;
  size_t warning_count() const;
  bool ok() const { return violation_count() == 0; }
};

// Pure: the oracle's fates, the checks and the warnings for every item.
AuditReport audit_items(const AuditInput& input);

struct AuditOptions {
  std::string items_path;
  // Looked up when given or not empty, so `--wrapper ""` is refused. Neither: no wrapper, and an
  // omitted accessibility is the OS default.
  std::string wrapper;
  Format format = Format::kText;
  bool wrapper_given = false;  // --wrapper was on the command line
};
// The whole command in-process: 0 every expectation holds, 1 one is violated, 2 invalid input,
// 4 unreadable file. The report goes to `out`, errors to `err` as one line. Text and markdown show
// names and messages with control characters as \xNN; JSON and CSV carry them exactly.
int run_audit(const AuditOptions& options, std::ostream& out, std::ostream& err);

}  // namespace kcb::cli
