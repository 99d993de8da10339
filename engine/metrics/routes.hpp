#pragma once
// What the metrics endpoint answers to a request, decided without I/O (the server only reads
// requests and writes these answers).
//
//   GET /metrics   200, the registry in the text format 0.0.4
//   GET /healthz   200 "ok" while healthy; 503 "failed: <reason>" once the job failed
//   other paths    404;  other methods  405 (HEAD is served like GET, without the body)

#include <string>
#include <string_view>

#include "engine/metrics/health.hpp"
#include "engine/metrics/registry.hpp"

namespace ferry::engine::metrics {

/// An HTTP answer.
struct http_answer {
  /// The status code.
  unsigned status = 200;
  /// Its Content-Type.
  std::string content_type = "text/plain; charset=utf-8";
  /// The body (sent for GET; for HEAD only its length).
  std::string body;
  /// For 405: the methods allowed.
  std::string allow;
};

/// The answer to `method` `target` (the request line's path, with any query string).
http_answer answer(std::string_view method, std::string_view target, const registry& metrics,
                   const health& status);

}  // namespace ferry::engine::metrics
