// kcbackup/backup_report.h: a backup folder's items with the oracle's and the engine's answers.
#include "kcbackup/backup_report.h"

#include <optional>
#include <string>

#include "kcbackup/names.h"

namespace kcb {

std::string_view protection_class_name(uint32_t protection_class) {
  // NSFileProtectionType's four (Foundation); 5 has no public name.
  switch (protection_class) {
    case 1:
      return "Complete";
    case 2:
      return "CompleteUnlessOpen";
    case 3:
      return "CompleteUntilFirstUserAuthentication";
    case 4:
      return "None";
    default:
      break;
  }
  // 6-11: the keychain's classes; accessibility_from_key_class also knows 12 (akpu), which is a
  // system-keybag class and never a file's or a backup's.
  if (protection_class > 11) return "";
  const std::optional<Accessibility> a = accessibility_from_key_class(protection_class);
  return a ? names_of(*a).name : std::string_view();
}

std::string protection_class_text(uint32_t protection_class) {
  const std::string_view name = protection_class_name(protection_class);
  return std::to_string(protection_class) + (name.empty() ? "" : " " + std::string(name));
}

}  // namespace kcb
