// What an app team's test would do with the installed library: ask the oracle, and run one real
// journey through the engine, through the public headers alone. Exit 0 when both agree with the
// seed's measurement (an encrypted backup brings a WhenUnlocked item to another phone, and not a
// ThisDeviceOnly one).
#include <cstdio>
#include <memory>

#include "kcbackup/backup.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/random.h"

namespace {

int fail(const char* what, const kcb::Status& st) {
  std::fprintf(stderr, "consumer: %s: %s\n", what, st.to_string().c_str());
  return 1;
}

}  // namespace

int main() {
  using namespace kcb;
  for (Accessibility a :
       {Accessibility::kWhenUnlocked, Accessibility::kWhenUnlockedThisDeviceOnly}) {
    oracle::Question q;
    q.traits.accessible = a;
    q.journey = Journey::kLocalEncrypted;
    q.target = Target::kOtherDevice;
    Result<Verdict> v = oracle::predict(q);
    if (!v.ok()) return fail("predict", v.status());
    std::printf("oracle: %s -> %s\n", std::string(names_of(a).name).c_str(),
                std::string(name_of(v->outcome)).c_str());
  }

  std::unique_ptr<Random> random = make_seeded_random(7);
  auto phone = Device::create_in_memory({}, *random);
  if (!phone.ok()) return fail("create phone", phone.status());
  for (Accessibility a :
       {Accessibility::kWhenUnlocked, Accessibility::kWhenUnlockedThisDeviceOnly}) {
    NewItem item;
    item.accessible = a;
    item.account = std::string(names_of(a).pdmn);
    item.service = "consumer";
    item.secret = SecretBytes(as_bytes("secret"));
    auto added = (*phone)->add(item, *random);
    if (!added.ok()) return fail("add", added.status());
  }
  auto backup = make_backup(**phone, {Journey::kLocalEncrypted, "pw", kFastKdf}, *random);
  if (!backup.ok()) return fail("backup", backup.status());
  auto other = Device::create_in_memory({}, *random);
  if (!other.ok()) return fail("create other phone", other.status());
  auto report = restore_backup(*backup, **other, {"pw", {}, {}}, *random);
  if (!report.ok()) return fail("restore", report.status());
  std::printf("engine: %zu of %zu restored\n", report->restored_count(), report->items.size());
  for (const ItemFate& f : report->items) {
    const bool expect = f.account == "ak";
    if (f.restored != expect) {
      std::fprintf(stderr, "consumer: %s restored=%d, expected %d\n", f.account.c_str(), f.restored,
                   expect);
      return 1;
    }
  }
  return report->items.size() == 2 ? 0 : 1;
}
