// wolk_rados: a small N-API addon over librados's C API, for lib/storage/rados-native.ts.
//
// connect(confPath, pool, options) resolves to a handle (an External) for one pool (and namespace);
// writeFull, read, stat, remove, list and close take that handle and return promises. Nothing blocks the
// event loop thread:
//   - data operations (writeFull, read, stat, remove) use librados's asynchronous API (rados_aio_*): the
//     OSD round trip holds no thread at all, and the completion, which librados calls on its own finisher
//     thread, is handed back to the JS thread through a thread-safe function. Any number can be in
//     flight (measured: with AsyncWorkers, libuv's 4 pool threads capped 4 KiB puts at ~4 in flight and
//     starved the process's fs and RocksDB work while waiting on the network);
//   - connect, list (librados has no asynchronous listing in C) and close run in AsyncWorkers on libuv's
//     thread pool.
//
// Errors reject with a JS Error whose message names the operation, the object and the errno name, and
// which carries `code` (e.g. "ENOENT"), `errno` (positive) and `op`. A missing object is not an error
// for read and stat (they resolve to null) nor for remove (idempotent).
#include <napi.h>
#include <rados/librados.h>

#include <ctime>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

// ---- the connection ---------------------------------------------------------------------------------

// One cluster connection and one IoCtx. Operations register as in flight; close waits for them before
// destroying the IoCtx and shutting down, so no worker ever uses a destroyed handle.
struct AioOp;
void AioFinish(Napi::Env env, Napi::Function, std::nullptr_t*, AioOp* op);
using Completions = Napi::TypedThreadSafeFunction<std::nullptr_t, AioOp, &AioFinish>;

class Handle {
 public:
  rados_t cluster = nullptr;
  rados_ioctx_t io = nullptr;
  std::string pool;
  // Carries aio completions to the JS thread; referenced (keeps the loop alive) only while ops are in
  // flight. Touched on the JS thread only, except NonBlockingCall.
  Completions completions;
  bool hasCompletions = false;
  int jsInflight = 0;

  ~Handle() {
    Shutdown();
    ReleaseCompletions();
  }
  void ReleaseCompletions() {
    if (hasCompletions) {
      hasCompletions = false;
      completions.Release();
    }
  }

  // False when closed (the caller reports "closed").
  bool Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    ++inflight_;
    return true;
  }
  void End() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--inflight_ == 0) cv_.notify_all();
  }
  // Marks closed (new operations fail), waits for in-flight ones, then releases librados.
  void Shutdown() {
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    cv_.wait(lock, [this] { return inflight_ == 0; });
    if (io != nullptr) {
      rados_ioctx_destroy(io);
      io = nullptr;
    }
    if (cluster != nullptr) {
      rados_shutdown(cluster);
      cluster = nullptr;
    }
  }
  bool Closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;
  bool closed_ = false;
};

using HandlePtr = std::shared_ptr<Handle>;

// The External owns a heap shared_ptr; workers copy it, so the Handle outlives every operation even if
// the JS object is collected. Collected without close(): the Handle's destructor shuts down.
Napi::Value WrapHandle(Napi::Env env, HandlePtr h) {
  auto* box = new HandlePtr(std::move(h));
  return Napi::External<HandlePtr>::New(env, box, [](Napi::Env, HandlePtr* p) { delete p; });
}

HandlePtr UnwrapHandle(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "wolk_rados: expected a handle from connect() as the first argument");
  }
  return *info[0].As<Napi::External<HandlePtr>>().Data();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string("wolk_rados: expected ") + what + " (a string)");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t fallback) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return fallback;
  if (!info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("wolk_rados: expected ") + what + " (a number)");
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string("wolk_rados: ") + what + " must be a non-negative integer");
  }
  return static_cast<int64_t>(d);
}

// ---- errors -----------------------------------------------------------------------------------------

std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "E" + std::to_string(err);
}

Napi::Error MakeError(Napi::Env env, const std::string& op, const std::string& target, int err) {
  std::string message = "rados " + op + (target.empty() ? "" : " " + target) + " failed: " + std::strerror(err) +
                        " (" + ErrnoName(err) + ")";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, op));
  return e;
}

// ---- workers ----------------------------------------------------------------------------------------

// Base: a promise, an operation name and target for errors, and a positive errno on failure.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::string op, std::string target)
      : Napi::AsyncWorker(env, "wolk_rados"), target_(std::move(target)),
        deferred_(Napi::Promise::Deferred::New(env)), op_(std::move(op)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual Napi::Value Result(Napi::Env env) = 0;
  int err_ = 0;
  std::string target_;  // what the error message names: an object, a prefix, a pool or a step

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (err_ != 0) {
      deferred_.Reject(MakeError(env, op_, target_, err_).Value());
    } else {
      deferred_.Resolve(Result(env));
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string op_;
};

// An operation on an open handle: Begin/End bracket the librados calls so close() waits for them.
class OpWorker : public PromiseWorker {
 public:
  OpWorker(Napi::Env env, HandlePtr h, std::string op, std::string target)
      : PromiseWorker(env, std::move(op), std::move(target)), h_(std::move(h)) {}

 protected:
  HandlePtr h_;
  virtual void Run() = 0;
  void Execute() override {
    if (!h_->Begin()) {
      err_ = ESHUTDOWN;
      return;
    }
    Run();
    h_->End();
  }
};

class ConnectWorker : public PromiseWorker {
 public:
  ConnectWorker(Napi::Env env, std::string conf, std::string pool, std::string ns, std::string client,
                std::vector<std::pair<std::string, std::string>> settings)
      : PromiseWorker(env, "connect", "pool " + pool), conf_(std::move(conf)), pool_(std::move(pool)),
        ns_(std::move(ns)), client_(std::move(client)), settings_(std::move(settings)) {}

 protected:
  // On any failure the local Handle's destructor shuts down whatever was made.
  void Execute() override {
    auto h = std::make_shared<Handle>();
    h->pool = pool_;
    int r = rados_create2(&h->cluster, "ceph", client_.c_str(), 0);
    if (r < 0) { h->cluster = nullptr; fail(r, "(creating the cluster handle for " + client_ + ")"); return; }
    r = rados_conf_read_file(h->cluster, conf_.c_str());
    if (r < 0) { fail(r, "(reading " + conf_ + ")"); return; }
    for (const auto& kv : settings_) {
      r = rados_conf_set(h->cluster, kv.first.c_str(), kv.second.c_str());
      if (r < 0) { fail(r, "(setting " + kv.first + "=" + kv.second + ")"); return; }
    }
    r = rados_connect(h->cluster);
    if (r < 0) { fail(r, "(reaching the monitors of " + conf_ + ")"); return; }
    r = rados_ioctx_create(h->cluster, pool_.c_str(), &h->io);
    if (r < 0) { h->io = nullptr; fail(r, "(opening pool " + pool_ + ")"); return; }
    if (!ns_.empty()) rados_ioctx_set_namespace(h->io, ns_.c_str());
    handle_ = std::move(h);
  }
  Napi::Value Result(Napi::Env env) override {
    handle_->completions = Completions::New(env, "wolk_rados.completions", 0, 1);
    handle_->completions.Unref(env);
    handle_->hasCompletions = true;
    return WrapHandle(env, handle_);
  }

 private:
  void fail(int r, const std::string& step) {
    err_ = -r;
    target_ = step;
  }
  std::string conf_, pool_, ns_, client_;
  std::vector<std::pair<std::string, std::string>> settings_;
  HandlePtr handle_;
};

// ---- data operations: librados aio, completed on the JS thread ------------------------------------------

enum class Kind { WriteFull, Read, ReadToEnd, ReadNothing, Stat, Remove };

// A read to the end of an object does not know the size in advance: the first attempt reads this much
// together with a stat in one atomic read op (one round trip for small objects such as 4 KiB shares);
// a larger object is read again whole, also in one atomic op, so a concurrent write_full can never
// give a read that mixes two versions.
constexpr size_t kFirstReadBytes = 128 * 1024;
constexpr int kMaxReadAttempts = 4;

struct AioOp {
  AioOp(Napi::Env env, HandlePtr handle, Kind k, std::string n, const char* op)
      : h(std::move(handle)), deferred(Napi::Promise::Deferred::New(env)), kind(k), name(std::move(n)), opName(op) {}
  ~AioOp() {
    std::free(buf);
    if (rop != nullptr) rados_release_read_op(rop);
    if (c != nullptr) rados_aio_release(c);
  }

  HandlePtr h;
  Napi::Promise::Deferred deferred;
  Kind kind;
  std::string name;
  const char* opName;
  rados_completion_t c = nullptr;
  rados_read_op_t rop = nullptr;
  int rv = 0;  // the completion's return value
  Napi::ObjectReference keep;  // writeFull: the caller's bytes stay alive until the OSD acknowledged
  // read / stat results, written by librados before the completion fires
  uint64_t offset = 0;
  size_t want = 0;
  char* buf = nullptr;
  size_t bytesRead = 0;
  int prvalStat = 0, prvalRead = 0;
  uint64_t size = 0;
  time_t mtime = 0;
  int attempts = 0;
};

// librados's finisher thread: record the result and queue the op for the JS thread.
void OnAioComplete(rados_completion_t c, void* arg) {
  auto* op = static_cast<AioOp*>(arg);
  op->rv = rados_aio_get_return_value(c);
  op->h->completions.NonBlockingCall(op);
}

// JS thread: registers the op with the handle (close waits for it; the loop stays alive for it).
bool StartOp(Napi::Env env, AioOp* op) {
  if (!op->h->Begin()) return false;
  if (op->h->jsInflight++ == 0) op->h->completions.Ref(env);
  return true;
}

void FinishOp(Napi::Env env, AioOp* op) {
  HandlePtr h = op->h;
  delete op;
  if (--h->jsInflight == 0 && h->hasCompletions) h->completions.Unref(env);
  h->End();
}

void Reject(Napi::Env env, AioOp* op, int err) {
  op->deferred.Reject(MakeError(env, op->opName, op->name, err).Value());
}

int NewCompletion(AioOp* op) {
  if (op->c != nullptr) {
    rados_aio_release(op->c);
    op->c = nullptr;
  }
  return rados_aio_create_completion2(op, OnAioComplete, &op->c);
}

// Issues (or reissues) the stat + read op of a read to the end.
int SubmitReadToEnd(AioOp* op) {
  std::free(op->buf);
  op->buf = static_cast<char*>(std::malloc(op->want > 0 ? op->want : 1));
  if (op->buf == nullptr) return -ENOMEM;
  if (op->rop != nullptr) rados_release_read_op(op->rop);
  op->rop = rados_create_read_op();
  rados_read_op_stat(op->rop, &op->size, &op->mtime, &op->prvalStat);
  rados_read_op_read(op->rop, op->offset, op->want, op->buf, &op->bytesRead, &op->prvalRead);
  int r = NewCompletion(op);
  if (r < 0) return r;
  ++op->attempts;
  return rados_aio_read_op_operate(op->rop, op->h->io, op->c, op->name.c_str(), 0);
}

// Resolves with `len` bytes of op->buf, handed to JS without a copy unless much of the buffer is unused.
Napi::Value TakeBuffer(Napi::Env env, AioOp* op, size_t len) {
  if (len == 0) return Napi::Buffer<char>::New(env, 0);
  if (len * 2 < op->want) return Napi::Buffer<char>::Copy(env, op->buf, len);
  char* data = op->buf;
  op->buf = nullptr;
  return Napi::Buffer<char>::New(env, data, len, [](Napi::Env, char* p) { std::free(p); });
}

void AioFinish(Napi::Env env, Napi::Function, std::nullptr_t*, AioOp* op) {
  if (env == nullptr) return;  // the environment is going away: nothing left to resolve
  Napi::HandleScope scope(env);
  const int rv = op->rv;
  switch (op->kind) {
    case Kind::WriteFull:
      if (rv < 0) Reject(env, op, -rv);
      else op->deferred.Resolve(env.Undefined());
      break;
    case Kind::Remove:
      if (rv < 0 && rv != -ENOENT) Reject(env, op, -rv);
      else op->deferred.Resolve(env.Undefined());
      break;
    case Kind::Stat:
      if (rv == -ENOENT) {
        op->deferred.Resolve(env.Null());
      } else if (rv < 0) {
        Reject(env, op, -rv);
      } else {
        Napi::Object o = Napi::Object::New(env);
        o.Set("size", Napi::Number::New(env, static_cast<double>(op->size)));
        o.Set("mtime", Napi::Number::New(env, static_cast<double>(op->mtime)));
        op->deferred.Resolve(o);
      }
      break;
    case Kind::ReadNothing:
      if (rv == -ENOENT) op->deferred.Resolve(env.Null());
      else if (rv < 0) Reject(env, op, -rv);
      else op->deferred.Resolve(Napi::Buffer<char>::New(env, 0));
      break;
    case Kind::Read:
      if (rv == -ENOENT) op->deferred.Resolve(env.Null());
      else if (rv < 0) Reject(env, op, -rv);
      else op->deferred.Resolve(TakeBuffer(env, op, static_cast<size_t>(rv)));
      break;
    case Kind::ReadToEnd: {
      int err = rv < 0 ? rv : op->prvalStat < 0 ? op->prvalStat : op->prvalRead < 0 ? op->prvalRead : 0;
      if (err == -ENOENT) {
        op->deferred.Resolve(env.Null());
        break;
      }
      if (err < 0) {
        Reject(env, op, -err);
        break;
      }
      const uint64_t rest = op->size > op->offset ? op->size - op->offset : 0;
      if (rest > op->want) {  // larger than the buffer: read it again whole, in one atomic op
        if (op->attempts >= kMaxReadAttempts) {
          Reject(env, op, EAGAIN);  // the object kept growing under us
          break;
        }
        if (rest > 0x7fffffffULL) {
          Reject(env, op, EFBIG);
          break;
        }
        op->want = static_cast<size_t>(rest);
        int r = SubmitReadToEnd(op);
        if (r >= 0) return;  // still in flight
        Reject(env, op, -r);
        break;
      }
      op->deferred.Resolve(TakeBuffer(env, op, op->bytesRead));
      break;
    }
  }
  FinishOp(env, op);
}

// Starts one aio operation; `submit` issues the librados call (after the completion is made).
template <typename Submit>
Napi::Value RunAio(Napi::Env env, AioOp* op, Submit submit) {
  Napi::Promise promise = op->deferred.Promise();
  if (!StartOp(env, op)) {
    Reject(env, op, ESHUTDOWN);
    delete op;
    return promise;
  }
  int r = submit(op);
  if (r < 0) {  // refused before reaching the cluster: no completion will come
    Reject(env, op, -r);
    FinishOp(env, op);
  }
  return promise;
}
// Lists the names in the handle's namespace that start with `prefix`, sorted bytewise. RADOS lists in
// hash order and has no server-side prefix filter in the C listing API, so this walks the whole
// namespace: O(objects in the namespace) per call.
class ListWorker : public OpWorker {
 public:
  ListWorker(Napi::Env env, HandlePtr h, std::string prefix)
      : OpWorker(env, std::move(h), "list", "prefix '" + prefix + "'"), prefix_(std::move(prefix)) {}

 protected:
  void Run() override {
    rados_list_ctx_t ctx = nullptr;
    int r = rados_nobjects_list_open(h_->io, &ctx);
    if (r < 0) { err_ = -r; return; }
    for (;;) {
      const char* entry = nullptr;
      const char* key = nullptr;
      const char* nspace = nullptr;
      size_t entry_len = 0, key_len = 0, ns_len = 0;
      r = rados_nobjects_list_next2(ctx, &entry, &key, &nspace, &entry_len, &key_len, &ns_len);
      if (r == -ENOENT) break;
      if (r < 0) { err_ = -r; break; }
      if (entry_len >= prefix_.size() && std::memcmp(entry, prefix_.data(), prefix_.size()) == 0) {
        names_.emplace_back(entry, entry_len);
      }
    }
    rados_nobjects_list_close(ctx);
    std::sort(names_.begin(), names_.end());
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array a = Napi::Array::New(env, names_.size());
    for (size_t i = 0; i < names_.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, names_[i]));
    return a;
  }

 private:
  std::string prefix_;
  std::vector<std::string> names_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, HandlePtr h) : PromiseWorker(env, "close", ""), h_(std::move(h)) {}

 protected:
  void Execute() override { h_->Shutdown(); }
  Napi::Value Result(Napi::Env env) override {
    h_->ReleaseCompletions();  // every completion has been delivered: Shutdown waited for them
    return env.Undefined();
  }

 private:
  HandlePtr h_;
};

// ---- exports ----------------------------------------------------------------------------------------

template <typename W, typename... Args>
Napi::Value Queue(Napi::Env env, Args&&... args) {
  auto* w = new W(env, std::forward<Args>(args)...);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

void CheckName(const Napi::CallbackInfo& info, const std::string& name) {
  if (name.empty()) throw Napi::RangeError::New(info.Env(), "wolk_rados: an object name must not be empty");
}

// connect(confPath, pool, { namespace?, client?, settings?: {key: value} })
Napi::Value Connect(const Napi::CallbackInfo& info) {
  std::string conf = StringArg(info, 0, "the ceph.conf path");
  std::string pool = StringArg(info, 1, "the pool name");
  std::string ns, client = "client.admin";
  std::vector<std::pair<std::string, std::string>> settings;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (o.Has("namespace") && o.Get("namespace").IsString()) ns = o.Get("namespace").As<Napi::String>().Utf8Value();
    if (o.Has("client") && o.Get("client").IsString()) client = o.Get("client").As<Napi::String>().Utf8Value();
    if (o.Has("settings") && o.Get("settings").IsObject()) {
      Napi::Object s = o.Get("settings").As<Napi::Object>();
      Napi::Array keys = s.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); ++i) {
        std::string k = keys.Get(i).ToString().Utf8Value();
        settings.emplace_back(k, s.Get(k).ToString().Utf8Value());
      }
    }
  }
  return Queue<ConnectWorker>(info.Env(), conf, pool, ns, client, settings);
}

Napi::Value WriteFull(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  if (info.Length() < 3 || !info[2].IsTypedArray()) {
    throw Napi::TypeError::New(info.Env(), "wolk_rados: writeFull expects a Uint8Array");
  }
  Napi::TypedArray ta = info[2].As<Napi::TypedArray>();
  const char* data = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  size_t len = ta.ByteLength();
  auto* op = new AioOp(info.Env(), h, Kind::WriteFull, name, "write_full");
  op->keep = Napi::Persistent(info[2].As<Napi::Object>());
  return RunAio(info.Env(), op, [data, len](AioOp* o) {
    int r = NewCompletion(o);
    return r < 0 ? r : rados_aio_write_full(o->h->io, o->name.c_str(), o->c, data, len);
  });
}

// read(handle, name, offset, length?): [offset, offset+length) clamped to the object, or to the end.
Napi::Value Read(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  int64_t offset = IntArg(info, 2, "offset", 0);
  int64_t length = IntArg(info, 3, "length", -1);
  if (length > 0x7fffffffLL) throw Napi::RangeError::New(info.Env(), "wolk_rados: a read is limited to 2 GiB");
  if (length == 0) {
    // Nothing to read, but a missing object must still read as null: a stat tells.
    auto* op = new AioOp(info.Env(), h, Kind::ReadNothing, name, "read");
    return RunAio(info.Env(), op, [](AioOp* o) {
      int r = NewCompletion(o);
      return r < 0 ? r : rados_aio_stat(o->h->io, o->name.c_str(), o->c, &o->size, &o->mtime);
    });
  }
  auto* op = new AioOp(info.Env(), h, length < 0 ? Kind::ReadToEnd : Kind::Read, name, "read");
  op->offset = static_cast<uint64_t>(offset);
  if (length < 0) {
    op->want = kFirstReadBytes;
    return RunAio(info.Env(), op, [](AioOp* o) { return SubmitReadToEnd(o); });
  }
  op->want = static_cast<size_t>(length);
  op->buf = static_cast<char*>(std::malloc(op->want));
  if (op->buf == nullptr) {
    delete op;
    throw Napi::Error::New(info.Env(), "wolk_rados: out of memory for a read of " + std::to_string(length) + " bytes");
  }
  return RunAio(info.Env(), op, [](AioOp* o) {
    int r = NewCompletion(o);
    return r < 0 ? r : rados_aio_read(o->h->io, o->name.c_str(), o->c, o->buf, o->want, o->offset);
  });
}

Napi::Value Stat(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  auto* op = new AioOp(info.Env(), h, Kind::Stat, name, "stat");
  return RunAio(info.Env(), op, [](AioOp* o) {
    int r = NewCompletion(o);
    return r < 0 ? r : rados_aio_stat(o->h->io, o->name.c_str(), o->c, &o->size, &o->mtime);
  });
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  auto* op = new AioOp(info.Env(), h, Kind::Remove, name, "remove");
  return RunAio(info.Env(), op, [](AioOp* o) {
    int r = NewCompletion(o);
    return r < 0 ? r : rados_aio_remove(o->h->io, o->name.c_str(), o->c);
  });
}

Napi::Value List(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string prefix = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  return Queue<ListWorker>(info.Env(), h, prefix);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  return Queue<CloseWorker>(info.Env(), h);
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  int major = 0, minor = 0, extra = 0;
  rados_version(&major, &minor, &extra);
  return Napi::String::New(info.Env(), std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(extra));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("writeFull", Napi::Function::New(env, WriteFull, "writeFull"));
  exports.Set("read", Napi::Function::New(env, Read, "read"));
  exports.Set("stat", Napi::Function::New(env, Stat, "stat"));
  exports.Set("remove", Napi::Function::New(env, Remove, "remove"));
  exports.Set("list", Napi::Function::New(env, List, "list"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("libradosVersion", Napi::Function::New(env, Version, "libradosVersion"));
  return exports;
}

}  // namespace

NODE_API_MODULE(wolk_rados, Init)
