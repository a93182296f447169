#include "dispatch_queue.h"

#include <map>

namespace grpo::addon {

struct DispatchQueue::Task {
  explicit Task(Napi::Promise::Deferred promise) : deferred(std::move(promise)) {}
  Napi::Promise::Deferred deferred;
  std::function<Result()> work;
  std::vector<Napi::Reference<Napi::Value>> kept;
  Result result;
  bool failed = false;
  PJRT_Error_Code error_code = PJRT_Error_Code_OK;
  std::string error_message;
};

namespace {

// Queues are never destroyed before the environment's cleanup hook stops them (plugins are never unloaded).
// Touched on JS threads only; one mutex because each worker thread has its own environment.
std::mutex queues_mutex;
std::map<std::pair<napi_env, const Plugin*>, DispatchQueue*> queues;

}  // namespace

void DispatchQueue::stop_all(Napi::Env env) {
  std::vector<DispatchQueue*> stopping;
  {
    std::lock_guard<std::mutex> lock(queues_mutex);
    for (auto& [key, queue] : queues) {
      if (key.first == static_cast<napi_env>(env)) stopping.push_back(queue);
    }
  }
  for (DispatchQueue* queue : stopping) queue->stop();
}

DispatchQueue& DispatchQueue::of(Napi::Env env, const Plugin* plugin) {
  std::lock_guard<std::mutex> lock(queues_mutex);
  DispatchQueue*& queue = queues[{static_cast<napi_env>(env), plugin}];
  if (queue == nullptr) {
    queue = new DispatchQueue(env, "grpo_xla dispatch " + plugin->path());
    env.AddCleanupHook([queue] { queue->stop(); });
  }
  return *queue;
}

DispatchQueue::DispatchQueue(Napi::Env env, const std::string& name) {
  napi_value resource_name = Napi::String::New(env, name);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, resource_name, 0, 1, nullptr, nullptr, this,
                                                       &DispatchQueue::settle, &settle_function_);
  if (status != napi_ok) throw Napi::Error::New(env, "cannot create the dispatch queue's thread-safe function");
  napi_unref_threadsafe_function(env, settle_function_);  // an idle queue does not keep the process alive
  thread_ = std::thread([this] { run(); });
}

DispatchQueue::Task* DispatchQueue::new_task(Napi::Env env) {
  auto* task = new Task(Napi::Promise::Deferred::New(env));
  if (pending_++ == 0) napi_ref_threadsafe_function(env, settle_function_);  // pending work keeps it alive
  return task;
}

// After stop_all() (the process is exiting) no new work starts: its promise rejects at once.
static Napi::Promise stopped_promise(Napi::Env env) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(make_js_error(env, PJRT_Error_Code_FAILED_PRECONDITION,
                                "the PJRT clients were shut down (the process is exiting)").Value());
  return deferred.Promise();
}

Napi::Promise DispatchQueue::submit(Napi::Env env, std::function<Result()> work, const std::vector<Napi::Value>& keep) {
  if (stopped_) return stopped_promise(env);
  Task* task = new_task(env);
  task->work = std::move(work);
  for (const Napi::Value& value : keep) task->kept.push_back(Napi::Persistent(value));
  Napi::Promise promise = task->deferred.Promise();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(task);
  }
  wake_.notify_one();
  return promise;
}

Napi::Promise DispatchQueue::when_ready(Napi::Env env, std::shared_ptr<Event> event, Completion completion,
                                        const std::string& what) {
  if (stopped_) return stopped_promise(env);
  Task* task = new_task(env);
  Napi::Promise promise = task->deferred.Promise();
  task->result.completion = std::move(completion);
  task->result.pending = std::move(event);
  wait_then_settle(task, what);
  return promise;
}

void DispatchQueue::run() {
  for (;;) {
    Task* task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = tasks_.front();
      tasks_.pop_front();
    }
    try {
      task->result = task->work();
    } catch (const PjrtError& error) {
      task->failed = true;
      task->error_code = error.code();
      task->error_message = error.what();
    } catch (const std::exception& error) {
      task->failed = true;
      task->error_code = PJRT_Error_Code_INTERNAL;
      task->error_message = error.what();
    } catch (...) {  // an exception escaping this thread would terminate the process
      task->failed = true;
      task->error_code = PJRT_Error_Code_INTERNAL;
      task->error_message = "unknown C++ exception";
    }
    // `work` is released with the task, on the JS thread: it may hold JS references.
    if (!task->failed && task->result.pending) {
      wait_then_settle(task, task->result.what);
    } else {
      post(task);
    }
  }
}

// Any thread: settles `task` once its event is ready. The event stays owned by the task until then.
void DispatchQueue::wait_then_settle(Task* task, const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_.insert(task);
  }
  std::shared_ptr<Event> event = task->result.pending;  // alive through the call, even if the task settles first
  event->on_ready(what, [this, task](PJRT_Error_Code code, const std::string& message) {
    if (code != PJRT_Error_Code_OK) {
      task->failed = true;
      task->error_code = code;
      task->error_message = message;
    }
    post(task);
  });
}

// Any thread: hands a finished task to the JS thread.
void DispatchQueue::post(Task* task) {
  std::lock_guard<std::mutex> lock(mutex_);
  waiting_.erase(task);
  // After stop() the environment is going away: nothing is left to settle (the task is dropped).
  if (closed_) return;
  napi_call_threadsafe_function(settle_function_, task, napi_tsfn_nonblocking);
}

// On the JS thread: settles one task's promise.
void DispatchQueue::settle(napi_env raw_env, napi_value, void* context, void* data) {
  auto* queue = static_cast<DispatchQueue*>(context);
  auto* task = static_cast<Task*>(data);
  if (raw_env == nullptr) return;  // the environment is going away: nothing left to settle
  Napi::Env env(raw_env);
  try {
    Napi::HandleScope scope(env);
    try {
      if (task->failed) {
        task->deferred.Reject(make_js_error(env, task->error_code, task->error_message).Value());
      } else {
        task->deferred.Resolve(js_call(env, [&] { return task->result.completion(env); }));
      }
    } catch (const Napi::Error& error) {
      task->deferred.Reject(error.Value());
    }
  } catch (const Napi::Error&) {
    // The environment runs no more JavaScript (a worker being terminated): the promise can be neither resolved nor
    // rejected, and an exception leaving this C callback would terminate the whole process.
  }
  delete task;
  if (--queue->pending_ == 0) napi_unref_threadsafe_function(raw_env, queue->settle_function_);
}

// At environment cleanup: the thread stops after its current task, then work still on the device is waited for
// (freeing what it uses while a plugin thread still writes would crash the exiting process).
void DispatchQueue::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Event>> events;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (Task* task : waiting_) events.push_back(task->result.pending);
  }
  for (const auto& event : events) {
    try {
      event->await("cleanup");
    } catch (const PjrtError&) {
    }
  }
  napi_release_threadsafe_function(settle_function_, napi_tsfn_abort);
}

}  // namespace grpo::addon
