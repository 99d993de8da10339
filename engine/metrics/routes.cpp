#include "engine/metrics/routes.hpp"

#include <exception>

#include "engine/metrics/exposition.hpp"

namespace ferry::engine::metrics {

http_answer answer(std::string_view method, std::string_view target, const registry& metrics,
                   const health& status) {
  const std::string_view path = target.substr(0, target.find('?'));
  http_answer a;
  if (path != "/metrics" && path != "/healthz") {
    a.status = 404;
    a.body = "not found: ferry serves /metrics and /healthz\n";
    return a;
  }
  if (method != "GET" && method != "HEAD") {
    a.status = 405;
    a.allow = "GET, HEAD";
    a.body = "method not allowed: use GET\n";
    return a;
  }
  if (path == "/healthz") {
    if (const auto problem = status.problem()) {
      a.status = 503;
      a.body = "failed: " + *problem + "\n";
    } else {
      a.body = "ok\n";
    }
    return a;
  }
  try {
    a.body = metrics.expose();
    a.content_type = std::string(exposition_content_type);
  } catch (const std::exception& e) {
    // A collector's bug (labels that do not match) must not take the job down with it.
    a.status = 500;
    a.body = std::string("collecting the metrics failed: ") + e.what() + "\n";
  }
  return a;
}

}  // namespace ferry::engine::metrics
