// The oracle, built without the engine, still answers the seed's measured table row for row.
#include <cstdio>

#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"

int main() {
  int wrong = 0;
  for (const kcb::oracle::MeasuredRow& row : kcb::oracle::measured_table()) {
    kcb::oracle::Question q;
    q.traits.accessible = row.accessible;
    q.journey = row.journey;
    q.target = row.target;
    kcb::Result<kcb::Verdict> v = kcb::oracle::predict(q);
    if (!v.ok() || v->outcome != row.measured) ++wrong;
  }
  std::printf("oracle alone: %zu measured rows, %d wrong\n", kcb::oracle::measured_table().size(),
              wrong);
  return wrong == 0 && !kcb::oracle::measured_table().empty() ? 0 : 1;
}
