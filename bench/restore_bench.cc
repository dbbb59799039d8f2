// Restore and backup throughput (items/s) beside their floor, measured in the same run and
// interleaved iteration by iteration so that the load of this shared machine hits both alike; both
// timed in thread CPU time.
//   restore/N: restore_backup of an N-item local-encrypted bundle into a fresh in-memory device of
//              the same hardware UID. The bundle's keybag uses kFastKdf (10 + 10 PBKDF2 rounds),
//              so the unlock inside restore_backup costs microseconds: see restore_fixed_cost.
//   floor:     per item AES key unwrap + GCM open + GCM seal + AES key wrap (KeyWrapper and
//              GcmFloor of keychain_fixture.h: fetched once, contexts reused) and a prepared INSERT
//              of the same row into the same table layout, all in one transaction.
//   backup/N:  make_backup of an N-item device; floor: a prepared SELECT of every row plus the same
//              four crypto calls, each new blob kept in memory like the bundle's.
// Counters: ours_us_per_item, floor_us_per_item, ratio (ours / floor; target <= 2).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "bench/keychain_fixture.h"
#include "engine/blob.h"
#include "kcbackup/names.h"

namespace kcb::bench {
namespace {

double seconds_since(double start) {
  return thread_cpu_seconds() - start;
}

// Everything one N needs, built once and kept while the benchmarks of that N run.
struct Corpus {
  size_t n = 0;
  std::unique_ptr<Random> random;
  std::unique_ptr<Device> source;
  BackupFolder bundle;  // the backup folder, in memory
  // The floor's copy of the same items: rows as the engine would store them, plaintexts sealed in
  // the floor's blobs under the floor's own class keys (indexed by key class).
  FloorCopy floor;
};

std::unique_ptr<Corpus>& current_corpus() {
  static std::unique_ptr<Corpus> corpus;
  return corpus;
}

Corpus& corpus_for(size_t n) {
  std::unique_ptr<Corpus>& c = current_corpus();
  if (c && c->n == n) return *c;
  c.reset();  // free the previous N first: 1M items take gigabytes
  c = std::make_unique<Corpus>();
  c->n = n;
  c->random = make_seeded_random(kSeed + n);
  c->source = make_populated_device(n, *c->random);
  c->bundle = take(make_backup(*c->source, bench_backup_options(), *c->random), "make_backup");
  c->floor = make_floor_copy(*c->source, *c->random);
  return *c;
}

// Restore floor: every blob resealed from its backup class key to the device class key and
// inserted, one transaction. Returns seconds.
double run_restore_floor(const Corpus& c, GcmFloor& floor, SqliteFloor& db) {
  const double start = thread_cpu_seconds();
  restore_floor_copy(c.floor, floor, db);
  return seconds_since(start);
}

void report(benchmark::State& state, size_t n, double ours, double floor_s) {
  const double iters = static_cast<double>(state.iterations());
  state.counters["ours_us_per_item"] = ours / iters / static_cast<double>(n) * 1e6;
  state.counters["floor_us_per_item"] = floor_s / iters / static_cast<double>(n) * 1e6;
  state.counters["ours_items_per_s"] = static_cast<double>(n) * iters / ours;
  state.counters["floor_items_per_s"] = static_cast<double>(n) * iters / floor_s;
  state.counters["ratio"] = ours / floor_s;
  state.counters["items"] = static_cast<double>(n);
}

void BM_restore(benchmark::State& state, size_t n) {
  Corpus& c = corpus_for(n);
  GcmFloor floor;
  double ours = 0;
  double floor_s = 0;
  const RestoreOptions options{kPassword, {}, {}};
  for (auto _ : state) {
    std::unique_ptr<Device> target = make_device(*c.random);
    const double start = thread_cpu_seconds();
    RestoreReport r = take(restore_backup(c.bundle, *target, options, *c.random), "restore");
    const double t = seconds_since(start);
    state.SetIterationTime(t);
    ours += t;
    if (r.restored_count() != n) check(Status::DataLoss("items lost"), "restore");
    {
      SqliteFloor db;
      floor_s += run_restore_floor(c, floor, db);
    }
  }
  report(state, n, ours, floor_s);
}

// Backup floor: select every row, reseal its blob from the device class key to the backup class
// key into a new buffer per item (the bundle keeps each blob).
double run_backup_floor(const Corpus& c, GcmFloor& floor, SqliteFloor& db,
                        std::vector<Bytes>* out) {
  Bytes plaintext(4096);
  const double start = thread_cpu_seconds();
  db.select_all([&](ByteView blob) {
    const uint32_t kc = floor_blob_key_class(blob);
    if (blob.size() > plaintext.size()) plaintext.resize(blob.size());
    Bytes sealed(blob.size());
    if (!reseal_floor_blob(floor, blob, *c.floor.device_class_keys[kc],
                           *c.floor.backup_class_keys[kc], plaintext.data(), sealed.data())) {
      check(Status::DataLoss("floor blob does not open"), "backup floor");
    }
    out->push_back(std::move(sealed));
  });
  return seconds_since(start);
}

void BM_backup(benchmark::State& state, size_t n) {
  Corpus& c = corpus_for(n);
  GcmFloor floor;
  // The floor's device: the same rows, blobs under the floor's device class keys.
  SqliteFloor db;
  restore_floor_copy(c.floor, floor, db);
  double ours = 0;
  double floor_s = 0;
  for (auto _ : state) {
    const double start = thread_cpu_seconds();
    BackupSummary summary;
    BackupFolder b =
        take(make_backup(*c.source, bench_backup_options(), *c.random, &summary), "make_backup");
    const double t = seconds_since(start);
    state.SetIterationTime(t);
    ours += t;
    if (summary.items != n) check(Status::DataLoss("items missing from the backup"), "backup");
    std::vector<Bytes> blobs;
    blobs.reserve(n);
    floor_s += run_backup_floor(c, floor, db, &blobs);
  }
  report(state, n, ours, floor_s);
}

// The part of restore_backup that does not scale with N (keybag parse + kFastKdf unlock + one
// transaction), so that the per-item figures above can be read as "after the keybag is unlocked".
void BM_restore_fixed_cost(benchmark::State& state) {
  Corpus& c = corpus_for(0);
  const RestoreOptions options{kPassword, {}, {}};
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Device> target = make_device(*c.random);
    state.ResumeTiming();
    benchmark::DoNotOptimize(take(restore_backup(c.bundle, *target, options, *c.random), "r"));
    state.PauseTiming();
    target.reset();
    state.ResumeTiming();
  }
}

// The four primitives of one ~200-byte item, ours (engine/crypto.h) beside the floor's EVP calls.
void BM_item_crypto_ours(benchmark::State& state) {
  auto random = make_seeded_random(kSeed);
  SecretBytes class_key(32);
  random->fill(class_key.span());
  Bytes plaintext(200, 0x41);
  Bytes blob = take(seal_blob(6, class_key.view(), plaintext, *random), "seal");
  ParsedBlob parsed = take(parse_blob(blob), "parse");
  for (auto _ : state) {
    SecretBytes opened = take(open_blob(parsed, class_key.view()), "open");
    benchmark::DoNotOptimize(take(seal_blob(6, class_key.view(), opened.view(), *random), "seal"));
  }
}

void BM_item_crypto_floor(benchmark::State& state) {
  auto random = make_seeded_random(kSeed);
  GcmFloor floor;
  uint8_t key[kKey];
  random->fill(key);
  KeyWrapper class_key(key);
  Bytes plaintext(200, 0x41);
  Bytes blob = seal_floor_blob(floor, 6, class_key, plaintext, *random);
  Bytes out(blob.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        reseal_floor_blob(floor, blob, class_key, class_key, plaintext.data(), out.data()));
  }
}

// N = 1k .. 1M; restore and backup of one N run back to back so the corpus is built once. The
// iteration counts keep the whole program within a few minutes on 2 shared cores; 1M runs once.
void register_benchmarks(size_t max_items) {
  struct Size {
    size_t n;
    int iterations;
  };
  for (Size s : {Size{1000, 30}, Size{10'000, 6}, Size{100'000, 2}, Size{1'000'000, 1}}) {
    if (s.n > max_items) continue;
    // Appends rather than "x" + std::string: GCC 12 at -O3 reports a false -Wrestrict on that.
    std::string restore_name = "restore/";
    restore_name += std::to_string(s.n);
    std::string backup_name = "backup/";
    backup_name += std::to_string(s.n);
    benchmark::RegisterBenchmark(restore_name.c_str(), BM_restore, s.n)
        ->Iterations(s.iterations)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(backup_name.c_str(), BM_backup, s.n)
        ->Iterations(s.iterations)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("restore_fixed_cost", BM_restore_fixed_cost)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("item_crypto/ours", BM_item_crypto_ours);
  benchmark::RegisterBenchmark("item_crypto/floor", BM_item_crypto_floor);
}

}  // namespace
}  // namespace kcb::bench

// KCB_BENCH_MAX_ITEMS (default 1000000) caps N, for a quick run.
int main(int argc, char** argv) {
  return kcb::bench::run_capped_benchmarks(argc, argv, kcb::bench::register_benchmarks);
}
