// Oracle predictions per second on one core over the full question space: every accessibility x
// item class x synchronizable x token x auth constraint x system bound x journey x target x
// passcode x iCloud Keychain switch (26,880 questions, the ones without an answer included: an
// InvalidArgument is an answer too). The peer is the target itself: 50M predictions/s.
#include <benchmark/benchmark.h>

#include <vector>

#include "kcbackup/oracle.h"

namespace kcb::bench {
namespace {

constexpr double kTargetPerSecond = 50e6;

std::vector<oracle::Question> all_questions() {
  std::vector<oracle::Question> qs;
  for (Accessibility a : kAllAccessibilities)
    for (ItemClass c : kAllItemClasses)
      for (bool sync : {false, true})
        for (Token tok : {Token::kNone, Token::kSecureEnclave})
          for (bool auth : {false, true})
            for (SystemBound sysb : kAllSystemBounds)
              for (Journey j : kAllJourneys)
                for (Target target : kAllTargets)
                  for (bool passcode : {false, true})
                    for (Switch icloud : {Switch::kUnspecified, Switch::kOff, Switch::kOn}) {
                      oracle::Question q;
                      q.traits = Traits{a, c, sync, tok, auth, sysb};
                      q.journey = j;
                      q.target = target;
                      q.settings = DeviceSettings{passcode, icloud};
                      qs.push_back(q);
                    }
  return qs;
}

void BM_oracle_predict(benchmark::State& state) {
  const std::vector<oracle::Question> qs = all_questions();
  size_t answered = 0;
  for (auto _ : state) {
    for (const oracle::Question& q : qs) {
      auto v = oracle::predict(q);
      answered += v.ok();
      benchmark::DoNotOptimize(v);
    }
  }
  const double n = static_cast<double>(qs.size()) * static_cast<double>(state.iterations());
  state.counters["predictions_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["target_per_s"] = kTargetPerSecond;
  state.counters["questions"] = static_cast<double>(qs.size());
  state.counters["answered_share"] = static_cast<double>(answered) / n;
}
BENCHMARK(BM_oracle_predict)->MinTime(0.5)->Unit(benchmark::kMillisecond);

// The same over the questions that have an answer only (no Status string is built).
void BM_oracle_predict_answerable(benchmark::State& state) {
  std::vector<oracle::Question> qs;
  for (const oracle::Question& q : all_questions())
    if (oracle::predict(q).ok()) qs.push_back(q);
  for (auto _ : state) {
    for (const oracle::Question& q : qs)
      benchmark::DoNotOptimize(oracle::predict(q));
  }
  const double n = static_cast<double>(qs.size()) * static_cast<double>(state.iterations());
  state.counters["predictions_per_s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["target_per_s"] = kTargetPerSecond;
  state.counters["questions"] = static_cast<double>(qs.size());
}
BENCHMARK(BM_oracle_predict_answerable)->MinTime(0.5)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kcb::bench

BENCHMARK_MAIN();
