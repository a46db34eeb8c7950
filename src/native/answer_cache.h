// Answers the batched UDP path sends again without JavaScript. JavaScript hands over an answer it has just
// given, with until when it stays the answer it would give to the same query bytes (its ID apart): until its
// flight ends, unless JavaScript replaces it sooner (with a prefetched answer). It may also give a refresh point:
// the first repeat from then on is answered here as any other, and is also handed to JavaScript (which starts
// the prefetch then), once per answer kept. A repeat before the end gets the stored bytes with its own ID
// written in and its TTLs aged the way the flight ages them (agedAnswer in src/dns/message.ts): the TTL of every
// answer and authority record one lower at agesAt and at each second after it, never below 0. That is byte for
// byte what JavaScript would send. Times are the wall clock's, in the units of Date.now(), because that is the
// clock the flights keep. Keys are compared whole, so two queries whose hashes collide never share an answer.
// A key may start with a prefix (the client's address, when answers are kept per client): only the same prefix
// and the same query bytes find the answer.
//
// Fair to every name: the keys of one question (its name in any case, type and class, and the prefix) differ
// only in what a client chose (EDNS size, flags, options such as cookies), so one question keeps at most
// kVariants answers, the oldest dropped for a new one; a client sending endless variants of one name churns its
// own few entries only. When the budget is spent the oldest answers are dropped (evicted, counted) for the new.
#pragma once

#include <cstdint>
#include <cstring>
#include <list>
#include <string_view>
#include <unordered_map>
#include <vector>

class AnswerCache {
 public:
  // A query datagram (its ID is not part of the key), after an optional prefix of up to kMaxPrefix bytes.
  struct Key {
    const uint8_t* prefix;
    size_t plen;
    const uint8_t* query;
    size_t qlen;

    bool Valid() const { return plen <= kMaxPrefix && qlen >= kHeader && qlen <= kMaxQuery; }
    size_t Size() const { return plen + qlen - 2; }
    uint64_t Hash() const {
      std::hash<std::string_view> h;
      uint64_t q = h(std::string_view(reinterpret_cast<const char*>(query + 2), qlen - 2));
      return plen == 0 ? q : q ^ (h(std::string_view(reinterpret_cast<const char*>(prefix), plen)) * 0x9e3779b97f4a7c15ull);
    }
    // The question the query asks, with the prefix: its name folded to lower case, type and class (FNV-1a). A
    // query whose question does not parse stands for itself.
    uint64_t Question() const {
      uint64_t h = 0xcbf29ce484222325ull;
      auto mix = [&h](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
      for (size_t i = 0; i < plen; i++) mix(prefix[i]);
      size_t at = kHeader;
      while (at < qlen && query[at] != 0) {
        if (query[at] > 63) return Hash();
        at += 1 + query[at];
      }
      if (at + 5 > qlen) return Hash();
      for (size_t i = kHeader; i < at + 5; i++) mix(query[i] >= 'A' && query[i] <= 'Z' ? query[i] | 0x20 : query[i]);
      return h;
    }
  };

  static constexpr size_t kMaxQuery = 512;    // longer queries are not kept (a DNS question is at most ~270 bytes)
  static constexpr size_t kMaxAnswer = 4096;  // longer answers are not kept
  static constexpr size_t kBudget = 32u << 20;  // bytes of queries, answers and bookkeeping held at most
  static constexpr unsigned kTallies = 64;    // what a hit counts as, chosen by JavaScript (see Put)
  static constexpr size_t kMaxPrefix = 17;    // a client address: family byte and 16 address bytes
  static constexpr size_t kVariants = 8;      // answers kept per question (see the top of this file)

  // Keeps `answer`, given to the datagram `query`, until untilNs, its TTLs a second lower from agesAtNs and at
  // each second after; a hit on it counts under `tally`; the first hit from refreshAtNs on (0: none) is a refresh
  // (see Get). It takes the place of any answer kept for the query, and of the oldest of its question's when that
  // has kVariants; the oldest answers give way when the budget is spent. False when it is not kept (counted as
  // refused): too long, not a well-formed answer, a bad tally, or already ended. The answer kept before is
  // dropped all the same: it must not outlive a newer one.
  bool Put(const Key& k, const uint8_t* answer, size_t alen, uint64_t nowNs, uint64_t untilNs, uint64_t agesAtNs, uint64_t refreshAtNs,
           unsigned tally) {
    if (!k.Valid()) return false;
    Forget(k);
    std::vector<uint16_t> ttls;
    if (alen < kHeader || alen > kMaxAnswer || tally >= kTallies || untilNs <= nowNs || !TtlOffsets(answer, alen, &ttls)) {
      refused_++;
      return false;
    }
    uint64_t h = k.Hash(), question = k.Question();
    std::vector<uint64_t>& variants = questions_[question];
    if (variants.size() >= kVariants) {
      Erase(entries_.find(variants.front()));
      evicted_++;
    }
    size_t cost = k.Size() + alen + 2 * ttls.size() + kOverhead;
    if (bytes_ + cost > kBudget) Sweep(nowNs);
    while (bytes_ + cost > kBudget && !order_.empty()) {
      Erase(entries_.find(order_.front()));
      evicted_++;
    }
    questions_[question].push_back(h);
    order_.push_back(h);
    Entry& e = entries_[h];
    e.question = question;
    e.order = std::prev(order_.end());
    e.key.assign(k.prefix, k.prefix + k.plen);
    e.key.insert(e.key.end(), k.query + 2, k.query + k.qlen);
    e.answer.assign(answer, answer + alen);
    e.ttlAt = std::move(ttls);
    e.expiresNs = untilNs;
    e.agesAtNs = agesAtNs;
    e.refreshAtNs = refreshAtNs;
    e.tally = static_cast<uint8_t>(tally);
    bytes_ += cost;
    return true;
  }

  // The answer kept for `query`, copied into `out` (room for kMaxAnswer bytes) with the query's ID: its length,
  // or 0 when there is none live. `tally` gets what the hit counts as; `refresh` whether it is the answer's first
  // hit from its refresh point on.
  size_t Get(const Key& k, uint64_t nowNs, uint8_t* out, unsigned* tally, bool* refresh) {
    if (entries_.empty() || !k.Valid()) return 0;
    auto it = entries_.find(k.Hash());
    if (it == entries_.end()) return 0;
    Entry& e = it->second;
    if (e.expiresNs <= nowNs) {
      Erase(it);
      return 0;
    }
    if (e.key.size() != k.Size() || memcmp(e.key.data(), k.prefix, k.plen) != 0 || memcmp(e.key.data() + k.plen, k.query + 2, k.qlen - 2) != 0) return 0;
    memcpy(out, e.answer.data(), e.answer.size());
    out[0] = k.query[0];
    out[1] = k.query[1];
    if (nowNs >= e.agesAtNs) {
      uint64_t seconds = 1 + (nowNs - e.agesAtNs) / 1000000000u;
      for (uint16_t at : e.ttlAt) {
        uint8_t* p = out + at;
        uint64_t ttl = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
        ttl = ttl > seconds ? ttl - seconds : 0;
        p[0] = static_cast<uint8_t>(ttl >> 24);
        p[1] = static_cast<uint8_t>(ttl >> 16);
        p[2] = static_cast<uint8_t>(ttl >> 8);
        p[3] = static_cast<uint8_t>(ttl);
      }
    }
    *tally = e.tally;
    *refresh = e.refreshAtNs != 0 && nowNs >= e.refreshAtNs;
    if (*refresh) e.refreshAtNs = 0;
    return e.answer.size();
  }

  // Drops what is kept for the query (or for another whose hash is the same: dropping is always safe).
  void Forget(const Key& k) {
    if (!k.Valid()) return;
    auto it = entries_.find(k.Hash());
    if (it != entries_.end()) Erase(it);
  }

  size_t size() const { return entries_.size(); }
  // Answers not kept when offered (see Put), and live ones dropped for a newer one (their question's variants, or
  // the budget): running counts.
  uint64_t refused() const { return refused_; }
  uint64_t evicted() const { return evicted_; }
  void Clear() {
    entries_.clear();
    questions_.clear();
    order_.clear();
    bytes_ = 0;
  }

 private:
  static constexpr size_t kHeader = 12;     // a DNS header; the ID is its first two bytes
  static constexpr size_t kOverhead = 96;   // a map node and two vectors, roughly
  static constexpr uint64_t kSweepGapNs = 100'000'000;

  struct Entry {
    std::vector<uint8_t> key;  // the prefix, then the query without its ID
    std::vector<uint8_t> answer;
    std::vector<uint16_t> ttlAt;  // where the TTLs of its answer and authority records are
    uint64_t expiresNs = 0;
    uint64_t agesAtNs = 0;
    uint64_t refreshAtNs = 0;  // 0 once its refresh has been handed to JavaScript, or if it has none
    uint8_t tally = 0;
    uint64_t question = 0;             // Key::Question(): its place in questions_
    std::list<uint64_t>::iterator order;  // its place in order_
  };
  using Map = std::unordered_map<uint64_t, Entry>;

  static size_t Cost(const Entry& e) { return e.key.size() + e.answer.size() + 2 * e.ttlAt.size() + kOverhead; }

  // Drops an entry from the map, its question's variants and the order; returns the next entry.
  Map::iterator Erase(Map::iterator it) {
    if (it == entries_.end()) return it;
    const Entry& e = it->second;
    bytes_ -= Cost(e);
    order_.erase(e.order);
    auto q = questions_.find(e.question);
    if (q != questions_.end()) {
      std::vector<uint64_t>& v = q->second;
      for (size_t i = 0; i < v.size(); i++)
        if (v[i] == it->first) {
          v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      if (v.empty()) questions_.erase(q);
    }
    return entries_.erase(it);
  }

  // Skips a name at `at` (labels, ending in a root label or a compression pointer); false if it runs past `len`.
  static bool SkipName(const uint8_t* p, size_t len, size_t* at) {
    while (*at < len) {
      uint8_t l = p[*at];
      if ((l & 0xc0) == 0xc0) {
        *at += 2;
        return *at <= len;
      }
      if (l & 0xc0) return false;
      *at += 1 + l;
      if (l == 0) return *at <= len;
    }
    return false;
  }

  // The offsets of the TTLs of the answer and authority records (the additional section, where OPT is, is
  // left alone); false for a message that does not parse.
  static bool TtlOffsets(const uint8_t* p, size_t len, std::vector<uint16_t>* out) {
    unsigned qd = (p[4] << 8) | p[5], records = ((p[6] << 8) | p[7]) + ((p[8] << 8) | p[9]);
    size_t at = kHeader;
    for (unsigned i = 0; i < qd; i++) {
      if (!SkipName(p, len, &at) || (at += 4) > len) return false;
    }
    for (unsigned i = 0; i < records; i++) {
      if (!SkipName(p, len, &at) || at + 10 > len) return false;
      out->push_back(static_cast<uint16_t>(at + 4));
      at += 10 + ((p[at + 8] << 8) | p[at + 9]);
      if (at > len) return false;
    }
    return true;
  }

  // Drops every ended answer; at most once per kSweepGapNs, so a full cache of live answers does not cost a
  // walk over all of it per Put over the budget.
  void Sweep(uint64_t nowNs) {
    if (nowNs - sweptAt_ < kSweepGapNs && sweptAt_ != 0) return;
    sweptAt_ = nowNs;
    for (auto it = entries_.begin(); it != entries_.end();) it = it->second.expiresNs <= nowNs ? Erase(it) : std::next(it);
  }

  Map entries_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> questions_;  // per question, its entries' hashes, oldest first
  std::list<uint64_t> order_;                                      // every entry's hash, oldest first
  size_t bytes_ = 0;
  uint64_t sweptAt_ = 0;
  uint64_t refused_ = 0, evicted_ = 0;
};
