// DER item decode in MB/s beside OpenSSL's generic DER parser on the same bytes: 1000 attribute
// dictionaries of realistic items (Item::encode, v_Data included). Ours: decode_der_dictionary
// with full validation (canonical form, UTF-8, sort order, caps); also Item::decode, which adds the
// attribute type checks. Peer: d2i_ASN1_SET_ANY, then d2i_ASN1_SEQUENCE_ANY on each entry, so both
// parse to the same depth. Rounds alternate ours/peer in one benchmark; counters give both MB/s
// and ratio = ours MB/s / peer MB/s (target >= 2).
#include <benchmark/benchmark.h>
#include <openssl/asn1.h>

#include <vector>

#include "bench/keychain_fixture.h"
#include "kcbackup/der.h"
#include "kcbackup/item.h"

namespace kcb::bench {
namespace {

struct DerCorpus {
  std::vector<Bytes> dicts;
  std::vector<ItemClass> classes;
  size_t bytes = 0;
};

const DerCorpus& der_corpus() {
  static const DerCorpus corpus = [] {
    DerCorpus c;
    for (size_t i = 0; i < 1000; ++i) {
      NewItem n = bench_item(i);
      Item item(n.item_class, n.accessible, std::move(n.secret));
      check(item.set_account(n.account), "account");
      check(item.set_service(n.service), "service");
      item.set_access_group(n.access_group);
      item.set_label(n.label);
      item.set_creation_date(der_date_from_unix_seconds(1'700'000'000 + int64_t(i)));
      item.set_modification_date(der_date_from_unix_seconds(1'700'000'500 + int64_t(i)));
      SecretBytes der = take(item.encode(), "encode");
      c.dicts.emplace_back(der.data(), der.data() + der.size());
      c.classes.push_back(n.item_class);
      c.bytes += der.size();
    }
    return c;
  }();
  return corpus;
}

double time_ours(const DerCorpus& c) {
  const double start = thread_cpu_seconds();
  for (const Bytes& d : c.dicts) {
    auto r = decode_der_dictionary(d);
    if (!r.ok()) check(r.status(), "decode_der_dictionary");
    benchmark::DoNotOptimize(r);
  }
  return thread_cpu_seconds() - start;
}

double time_item_decode(const DerCorpus& c) {
  const double start = thread_cpu_seconds();
  for (size_t i = 0; i < c.dicts.size(); ++i) {
    auto r = Item::decode(c.classes[i], c.dicts[i]);
    if (!r.ok()) check(r.status(), "Item::decode");
    benchmark::DoNotOptimize(r);
  }
  return thread_cpu_seconds() - start;
}

// Parses one dictionary to the depth ours does; false when OpenSSL refuses it.
bool parse_with_openssl(const Bytes& d) {
  const unsigned char* p = d.data();
  ASN1_SEQUENCE_ANY* set = d2i_ASN1_SET_ANY(nullptr, &p, static_cast<long>(d.size()));
  if (set == nullptr) return false;
  bool ok = true;
  for (int i = 0; i < sk_ASN1_TYPE_num(set) && ok; ++i) {
    const ASN1_TYPE* entry = sk_ASN1_TYPE_value(set, i);
    if (entry->type != V_ASN1_SEQUENCE) {
      ok = false;
      break;
    }
    const unsigned char* q = entry->value.sequence->data;
    ASN1_SEQUENCE_ANY* kv =
        d2i_ASN1_SEQUENCE_ANY(nullptr, &q, static_cast<long>(entry->value.sequence->length));
    ok = kv != nullptr && sk_ASN1_TYPE_num(kv) == 2;
    sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
  }
  sk_ASN1_TYPE_pop_free(set, ASN1_TYPE_free);
  return ok;
}

double time_peer(const DerCorpus& c) {
  const double start = thread_cpu_seconds();
  for (const Bytes& d : c.dicts) {
    if (!parse_with_openssl(d)) check(Status::Corruption("OpenSSL refused a dictionary"), "peer");
  }
  return thread_cpu_seconds() - start;
}

void BM_der_decode_vs_openssl(benchmark::State& state) {
  const DerCorpus& c = der_corpus();
  double ours = 0;
  double item = 0;
  double peer = 0;
  for (auto _ : state) {
    const double t = time_ours(c);
    state.SetIterationTime(t);
    ours += t;
    item += time_item_decode(c);
    peer += time_peer(c);
  }
  const double mb = static_cast<double>(c.bytes) * static_cast<double>(state.iterations()) / 1e6;
  state.counters["ours_MB_per_s"] = mb / ours;
  state.counters["item_decode_MB_per_s"] = mb / item;
  state.counters["peer_MB_per_s"] = mb / peer;
  state.counters["ratio"] = peer / ours;  // how many times faster than the peer
  state.counters["item_ratio"] = peer / item;
  state.counters["avg_dict_bytes"] =
      static_cast<double>(c.bytes) / static_cast<double>(c.dicts.size());
  state.SetBytesProcessed(static_cast<int64_t>(c.bytes) * state.iterations());
}
BENCHMARK(BM_der_decode_vs_openssl)->UseManualTime()->MinTime(0.5)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kcb::bench

BENCHMARK_MAIN();
