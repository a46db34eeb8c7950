// Batched UDP for rkvdns on Linux, for JavaScript: the socket of udp_core.h behind N-API. JavaScript gets every
// query waiting in one Buffer per wakeup of its loop, and sends a batch's answers in one call; no per-packet
// JavaScript objects cross this boundary. The records' layout (records.h) is exported as `layout`, so that the
// JavaScript side can check it reads what this build writes. Every length read from JavaScript is checked against
// its buffer before use.
#include <napi.h>
#include <uv.h>

#include <string>
#include <vector>

#include "records.h"
#include "udp_core.h"

namespace {

class UdpBatch : public Napi::ObjectWrap<UdpBatch> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "UdpBatch",
                                   {InstanceMethod("port", &UdpBatch::Port), InstanceMethod("send", &UdpBatch::Send),
                                    InstanceMethod("cache", &UdpBatch::CacheAnswer), InstanceMethod("cacheByClient", &UdpBatch::CacheByClient),
                                    InstanceMethod("close", &UdpBatch::Close), InstanceMethod("stats", &UdpBatch::Stats)});
    exports.Set("UdpBatch", f);
    Napi::Object layout = Napi::Object::New(env);
    layout.Set("header", records::kHeader);
    layout.Set("port", records::kPort);
    layout.Set("family", records::kFamily);
    layout.Set("address", records::kAddress);
    layout.Set("scope", records::kScope);
    layout.Set("arrival", records::kArrival);
    layout.Set("clientBytes", records::kClientBytes);
    layout.Set("refresh", records::kRefresh);
    layout.Set("tallies", AnswerCache::kTallies);
    layout.Set("maxQuery", UdpCore::kMaxQuery);
    layout.Set("maxWaiting", UdpCore::kMaxWaiting);
    exports.Set("layout", layout);
    return exports;
  }

  // new UdpBatch(host: string (a literal address), port: number, reusePort: boolean, onBatch(buffer, count),
  //              sojournBounds: number[] (seconds, ascending: the histogram's upper bounds),
  //              cacheCounts: Float64Array (at least AnswerCache::kTallies long: answers sent from the cache, per tally),
  //              onError(message): the socket's thread ended on an error)
  UdpBatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpBatch>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsBoolean() || !info[3].IsFunction() || !info[4].IsArray() ||
        !info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[5].As<Napi::Float64Array>().ElementLength() < AnswerCache::kTallies || !info[6].IsFunction()) {
      Napi::TypeError::New(env, "UdpBatch(host, port, reusePort, onBatch, sojournBounds, cacheCounts: Float64Array(64), onError)").ThrowAsJavaScriptException();
      return;
    }
    // Held so its memory stays where the core writes.
    cacheCountsRef_ = Napi::Persistent(info[5].As<Napi::Float64Array>());
    UdpCoreOptions o;
    o.host = info[0].As<Napi::String>();
    o.port = info[1].As<Napi::Number>().Int32Value();
    o.reusePort = info[2].As<Napi::Boolean>();
    Napi::Array bounds = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < bounds.Length() && i < 64; i++) {
      Napi::Value b = bounds.Get(i);
      if (b.IsNumber()) o.sojournBoundsNs.push_back(static_cast<uint64_t>(b.As<Napi::Number>().DoubleValue() * 1e9));
    }
    o.cacheCounts = cacheCountsRef_.Value().Data();
    o.wake = [this] { uv_async_send(async_); };
    std::string error;
    int errnum = 0;
    core_ = UdpCore::Open(std::move(o), &error, &errnum);
    if (!core_) {
      Napi::Error err = Napi::Error::New(env, error);
      err.Set("code", Napi::String::New(env, errnum == EADDRINUSE ? "EADDRINUSE" : errnum == EACCES ? "EACCES" : "E" + std::to_string(errnum)));
      err.ThrowAsJavaScriptException();
      return;
    }
    onBatch_ = Napi::Persistent(info[3].As<Napi::Function>());
    onError_ = Napi::Persistent(info[6].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    async_ = new uv_async_t;
    async_->data = this;
    if (int rc = uv_async_init(loop, async_, OnWaiting); rc != 0) {
      delete async_;
      async_ = nullptr;
      core_.reset();
      Napi::Error::New(env, std::string("uv_async_init: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
      return;
    }
    core_->Start();
    // At the environment's end (a worker thread's, or the process's) without close(), the thread is stopped
    // before anything it uses goes away.
    napi_add_env_cleanup_hook(env, Cleanup, this);
    // Kept alive by its thread until close(): JavaScript may drop its reference to the socket object.
    Ref();
  }

  ~UdpBatch() { Shut(); }

 private:
  static void OnWaiting(uv_async_t* handle) { static_cast<UdpBatch*>(handle->data)->Deliver(); }

  // On the main thread: every query waiting goes to JavaScript in one call; an ended socket thread is reported.
  void Deliver() {
    if (!core_) return;
    Napi::Env env = onBatch_.Env();
    Napi::HandleScope scope(env);
    if (int e = core_->ThreadError(); e != 0 && !errorReported_) {
      errorReported_ = true;
      onError_.MakeCallback(Value(), {Napi::String::New(env, std::string("the UDP socket's thread stopped: poll: ") + strerror(e))});
    }
    unsigned count = core_->Take(&delivering_);
    if (count == 0) return;
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, delivering_.data(), delivering_.size());
    // MakeCallback: promise jobs and nextTicks the handler queues run when it returns, as for any I/O callback.
    onBatch_.MakeCallback(Value(), {out, Napi::Number::New(env, count)});
  }

  // Stops the thread and closes the socket and the loop's handle; what JavaScript holds stays valid.
  void Shut() {
    if (core_) core_->Stop();
    if (async_) {
      uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      async_ = nullptr;
    }
  }

  static void Cleanup(void* self) { static_cast<UdpBatch*>(self)->Shut(); }

  // send(buffer, count): answer records; returns how many the kernel took.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "send(buffer, count)").ThrowAsJavaScriptException();
      return env.Null();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    int64_t sent = core_ ? core_->Send(buf.Data(), buf.Length(), info[1].As<Napi::Number>().Int64Value()) : 0;
    return Napi::Number::New(env, static_cast<double>(sent));
  }

  // cache(query: Buffer (the whole datagram), answer: Buffer (as sent), untilMs, agesAtMs, refreshAtMs (Date.now()
  // times; refreshAtMs 0 for none), tally: number, client: Buffer (the query record's family and address, 17
  // bytes)): keeps the answer for repeats of the query, from that client only after cacheByClient(true); true when
  // kept. Whether kept or not, it replaces what was kept for the query.
  Napi::Value CacheAnswer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsBuffer() || !info[1].IsBuffer() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() ||
        !info[5].IsNumber() || !info[6].IsBuffer() || info[6].As<Napi::Buffer<uint8_t>>().Length() != records::kClientBytes) {
      Napi::TypeError::New(env, "cache(query, answer, untilMs, agesAtMs, refreshAtMs, tally, client: 17 bytes)").ThrowAsJavaScriptException();
      return env.Null();
    }
    auto query = info[0].As<Napi::Buffer<uint8_t>>();
    auto answer = info[1].As<Napi::Buffer<uint8_t>>();
    bool kept = core_ && core_->CacheAnswer(info[6].As<Napi::Buffer<uint8_t>>().Data(), query.Data(), query.Length(), answer.Data(), answer.Length(),
                                         info[2].As<Napi::Number>().DoubleValue(), info[3].As<Napi::Number>().DoubleValue(),
                                         info[4].As<Napi::Number>().DoubleValue(), info[5].As<Napi::Number>().Int64Value());
    return Napi::Boolean::New(env, kept);
  }

  // cacheByClient(on: boolean): from now on, answers are kept per client (what was kept before is dropped).
  Napi::Value CacheByClient(const Napi::CallbackInfo& info) {
    if (core_) core_->CacheByClient(info.Length() > 0 && info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), core_ ? core_->port() : 0); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!core_) return o;
    UdpCoreStats s = core_->Stats();
    o.Set("oversize", static_cast<double>(s.oversize));
    o.Set("sendDropped", static_cast<double>(s.sendDropped));
    o.Set("queueDropped", static_cast<double>(s.queueDropped));
    o.Set("cacheRefused", static_cast<double>(s.cacheRefused));
    o.Set("cacheEvicted", static_cast<double>(s.cacheEvicted));
    Napi::Object failed = Napi::Object::New(env);
    for (unsigned i = 0; i < kSendFailures; i++) failed.Set(kSendFailureNames[i], static_cast<double>(s.sendFailed[i]));
    o.Set("sendFailed", failed);
    Napi::Array counts = Napi::Array::New(env, s.sojourn.size());
    for (uint32_t i = 0; i < s.sojourn.size(); i++) counts.Set(i, static_cast<double>(s.sojourn[i]));
    o.Set("sojourn", counts);
    o.Set("sojournSeconds", s.sojournSeconds);
    o.Set("cached", static_cast<double>(s.cached));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (async_) {
      Shut();
      napi_remove_env_cleanup_hook(info.Env(), Cleanup, this);
      Unref();
    }
    return info.Env().Undefined();
  }

  // The main thread's. The core's thread calls only `wake` (uv_async_send, safe from any thread).
  std::unique_ptr<UdpCore> core_;
  uv_async_t* async_ = nullptr;  // wakes the loop for queries waiting
  Napi::FunctionReference onBatch_, onError_;
  Napi::Reference<Napi::Float64Array> cacheCountsRef_;
  std::vector<uint8_t> delivering_;  // the records being handed over (its room kept between wakeups)
  bool errorReported_ = false;
};

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return UdpBatch::Init(env, exports); }

NODE_API_MODULE(udp_batch, InitAll)
