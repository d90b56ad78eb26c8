// wolk_rados: a small N-API addon over librados's C API, for lib/storage/rados-native.ts.
//
// connect(confPath, pool, options) resolves to a handle (an External) for one pool (and namespace);
// writeFull, read, stat, remove, list and close take that handle and return promises. Every librados
// call runs in an AsyncWorker on libuv's thread pool, never on the event loop thread.
//
// Errors reject with a JS Error whose message names the operation, the object and the errno name, and
// which carries `code` (e.g. "ENOENT"), `errno` (positive) and `op`. A missing object is not an error
// for read and stat (they resolve to null) nor for remove (idempotent).
#include <napi.h>
#include <rados/librados.h>

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
class Handle {
 public:
  rados_t cluster = nullptr;
  rados_ioctx_t io = nullptr;
  std::string pool;

  ~Handle() { Shutdown(); }

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
  Napi::Value Result(Napi::Env env) override { return WrapHandle(env, handle_); }

 private:
  void fail(int r, const std::string& step) {
    err_ = -r;
    target_ = step;
  }
  std::string conf_, pool_, ns_, client_;
  std::vector<std::pair<std::string, std::string>> settings_;
  HandlePtr handle_;
};

class WriteFullWorker : public OpWorker {
 public:
  WriteFullWorker(Napi::Env env, HandlePtr h, std::string name, Napi::Object buffer, const char* data, size_t len)
      : OpWorker(env, std::move(h), "write_full", name), name_(std::move(name)), data_(data), len_(len) {
    keep_ = Napi::Persistent(buffer);  // the bytes stay alive until the write is done
  }

 protected:
  void Run() override {
    int r = rados_write_full(h_->io, name_.c_str(), data_, len_);
    if (r < 0) err_ = -r;
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string name_;
  const char* data_;
  size_t len_;
  Napi::ObjectReference keep_;
};

class ReadWorker : public OpWorker {
 public:
  ReadWorker(Napi::Env env, HandlePtr h, std::string name, uint64_t offset, int64_t length)
      : OpWorker(env, std::move(h), "read", name), name_(std::move(name)), offset_(offset), length_(length) {}
  ~ReadWorker() override { std::free(buf_); }

 protected:
  void Run() override {
    uint64_t want;
    if (length_ < 0) {  // to the end: the size comes from stat
      uint64_t size = 0;
      time_t mtime = 0;
      int r = rados_stat(h_->io, name_.c_str(), &size, &mtime);
      if (r == -ENOENT) { missing_ = true; return; }
      if (r < 0) { err_ = -r; return; }
      want = size > offset_ ? size - offset_ : 0;
    } else {
      want = static_cast<uint64_t>(length_);
    }
    if (want > 0x7fffffffULL) { err_ = EFBIG; return; }  // rados_read returns an int
    if (want == 0) {
      // A zero-length read still has to tell a missing object from an empty range.
      uint64_t size = 0;
      time_t mtime = 0;
      int r = rados_stat(h_->io, name_.c_str(), &size, &mtime);
      if (r == -ENOENT) missing_ = true;
      else if (r < 0) err_ = -r;
      return;
    }
    want_ = want;
    buf_ = static_cast<char*>(std::malloc(want));
    if (buf_ == nullptr) { err_ = ENOMEM; return; }
    int r = rados_read(h_->io, name_.c_str(), buf_, want, offset_);
    if (r == -ENOENT) { missing_ = true; return; }
    if (r < 0) { err_ = -r; return; }
    got_ = static_cast<size_t>(r);
  }
  Napi::Value Result(Napi::Env env) override {
    if (missing_) return env.Null();
    if (got_ == 0) return Napi::Buffer<char>::New(env, 0);
    // Hand the malloc'd bytes to JS without a copy (freed by the finalizer), unless the read came back
    // much shorter than the buffer: then copy, so a small result does not pin a large allocation.
    char* data = buf_;
    buf_ = nullptr;
    if (got_ * 2 < want_) {
      Napi::Buffer<char> b = Napi::Buffer<char>::Copy(env, data, got_);
      std::free(data);
      return b;
    }
    return Napi::Buffer<char>::New(env, data, got_, [](Napi::Env, char* p) { std::free(p); });
  }

 private:
  std::string name_;
  uint64_t offset_;
  int64_t length_;
  char* buf_ = nullptr;
  size_t want_ = 0;
  size_t got_ = 0;
  bool missing_ = false;
};

class StatWorker : public OpWorker {
 public:
  StatWorker(Napi::Env env, HandlePtr h, std::string name)
      : OpWorker(env, std::move(h), "stat", name), name_(std::move(name)) {}

 protected:
  void Run() override {
    int r = rados_stat(h_->io, name_.c_str(), &size_, &mtime_);
    if (r == -ENOENT) missing_ = true;
    else if (r < 0) err_ = -r;
  }
  Napi::Value Result(Napi::Env env) override {
    if (missing_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", Napi::Number::New(env, static_cast<double>(size_)));
    o.Set("mtime", Napi::Number::New(env, static_cast<double>(mtime_)));
    return o;
  }

 private:
  std::string name_;
  uint64_t size_ = 0;
  time_t mtime_ = 0;
  bool missing_ = false;
};

class RemoveWorker : public OpWorker {
 public:
  RemoveWorker(Napi::Env env, HandlePtr h, std::string name)
      : OpWorker(env, std::move(h), "remove", name), name_(std::move(name)) {}

 protected:
  void Run() override {
    int r = rados_remove(h_->io, name_.c_str());
    if (r < 0 && r != -ENOENT) err_ = -r;
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string name_;
};

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
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

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
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  const char* data = static_cast<const char*>(ab.Data()) + ta.ByteOffset();
  return Queue<WriteFullWorker>(info.Env(), h, name, info[2].As<Napi::Object>(), data, ta.ByteLength());
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  int64_t offset = IntArg(info, 2, "offset", 0);
  int64_t length = IntArg(info, 3, "length", -1);
  return Queue<ReadWorker>(info.Env(), h, name, static_cast<uint64_t>(offset), length);
}

Napi::Value Stat(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  return Queue<StatWorker>(info.Env(), h, name);
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  HandlePtr h = UnwrapHandle(info);
  std::string name = StringArg(info, 1, "the object name");
  CheckName(info, name);
  return Queue<RemoveWorker>(info.Env(), h, name);
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
