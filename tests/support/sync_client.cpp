#include "tests/support/sync_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ferry::testing {
namespace {

std::string openssl_errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) {
      out += "; ";
    }
    out += text;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

reply convert(const redisReply* raw) {
  reply out;
  switch (raw->type) {
    case REDIS_REPLY_STRING:
      out.kind = reply_kind::string;
      out.str.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = reply_kind::status;
      out.str.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = reply_kind::error;
      out.str.assign(raw->str, raw->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = reply_kind::integer;
      out.integer = raw->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = reply_kind::array;
      out.elements.reserve(raw->elements);
      for (std::size_t i = 0; i < raw->elements; ++i) {
        out.elements.push_back(convert(raw->element[i]));
      }
      break;
    default:
      out.kind = reply_kind::nil;
      break;
  }
  return out;
}

std::string format_command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* target = nullptr;
  const int length =
      redisFormatCommandArgv(&target, static_cast<int>(argv.size()), args.data(), lengths.data());
  if (length < 0 || target == nullptr) {
    throw client_error("redisFormatCommandArgv failed");
  }
  std::string out(target, static_cast<std::size_t>(length));
  free(target);  // allocated by hiredis with malloc
  return out;
}

}  // namespace

struct sync_client::impl {
  client_options options;
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  redisReader* reader = nullptr;
  // Set by any I/O failure: a late reply would otherwise be taken for the next command's.
  bool broken = false;

  ~impl() {
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    if (ctx != nullptr) {
      SSL_CTX_free(ctx);
    }
    if (fd >= 0) {
      ::close(fd);
    }
    if (reader != nullptr) {
      redisReaderFree(reader);
    }
  }

  std::string where() const { return fmt::format("{}:{}", options.host, options.port); }

  [[noreturn]] void fail(const std::string& what) {
    broken = true;
    throw client_error(fmt::format("{} ({}{})", what, where(), options.tls ? ", TLS" : ""));
  }

  void connect_tcp() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(options.port);
    if (const int rc = ::getaddrinfo(options.host.c_str(), service.c_str(), &hints, &found)) {
      fail(fmt::format("resolve: {}", gai_strerror(rc)));
    }
    std::string last_error = "no address";
    for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
      const int sock = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (sock < 0) {
        continue;
      }
      // Non-blocking connect so that it can time out; the socket turns blocking afterwards.
      int rc = ::connect(sock, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd pfd{sock, POLLOUT, 0};
        rc = ::poll(&pfd, 1, static_cast<int>(options.timeout.count()));
        int err = rc == 0 ? ETIMEDOUT : 0;
        socklen_t len = sizeof err;
        if (rc > 0) {
          ::getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len);
        }
        errno = err;
        rc = err == 0 ? 0 : -1;
      }
      if (rc != 0) {
        last_error = std::strerror(errno);
        ::close(sock);
        continue;
      }
      fd = sock;
    }
    ::freeaddrinfo(found);
    if (fd < 0) {
      fail("connect: " + last_error);
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(options.timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((options.timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  void start_tls() {
    const tls_client_options& tls = *options.tls;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) {
      fail("SSL_CTX_new: " + openssl_errors());
    }
    if (tls.verify) {
      if (tls.ca_file.empty()) {
        fail("TLS verification needs a CA file");
      }
      if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
        fail("load CA " + tls.ca_file.string() + ": " + openssl_errors());
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!tls.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        fail("load client certificate " + tls.cert_file.string() + ": " + openssl_errors());
      }
    }
    ssl = SSL_new(ctx);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
      fail("SSL_new: " + openssl_errors());
    }
    in6_addr ip_probe{};
    const bool is_ip = ::inet_pton(AF_INET, tls.server_name.c_str(), &ip_probe) == 1 ||
                       ::inet_pton(AF_INET6, tls.server_name.c_str(), &ip_probe) == 1;
    if (!is_ip) {
      SSL_set_tlsext_host_name(ssl, tls.server_name.c_str());
    }
    if (tls.verify) {
      const int ok =
          is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), tls.server_name.c_str())
                : SSL_set1_host(ssl, tls.server_name.c_str());
      if (ok != 1) {
        fail("set expected TLS name " + tls.server_name);
      }
    }
    if (SSL_connect(ssl) != 1) {
      const long verify = SSL_get_verify_result(ssl);
      std::string detail = openssl_errors();
      if (verify != X509_V_OK) {
        detail += fmt::format(" (certificate: {})", X509_verify_cert_error_string(verify));
      }
      fail("TLS handshake: " + detail);
    }
  }

  void write_all(std::string_view bytes) {
    if (broken) {
      throw client_error(
          fmt::format("connection to {} is unusable after an earlier failure", where()));
    }
    while (!bytes.empty()) {
      long written = 0;
      if (ssl != nullptr) {
        ERR_clear_error();
        const int n = SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size()));
        if (n <= 0) {
          fail(fmt::format("TLS write failed (SSL error {}): {}", SSL_get_error(ssl, n),
                           openssl_errors()));
        }
        written = n;
      } else {
        written = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (written < 0) {
          if (errno == EINTR) {
            continue;
          }
          fail(errno == EAGAIN ? std::string("write timed out")
                               : fmt::format("write: {}", std::strerror(errno)));
        }
      }
      bytes.remove_prefix(static_cast<std::size_t>(written));
    }
  }

  // Reads more bytes into the hiredis reader; throws on EOF, timeout or error.
  void read_some() {
    char buffer[64 * 1024];
    long n = 0;
    if (ssl != nullptr) {
      ERR_clear_error();
      const int rc = SSL_read(ssl, buffer, sizeof buffer);
      if (rc <= 0) {
        const int err = SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_ZERO_RETURN) {
          fail("connection closed by server");
        }
        if (err == SSL_ERROR_WANT_READ) {
          fail("read timed out");
        }
        fail(fmt::format("TLS read failed (SSL error {}, errno {}): {}", err, std::strerror(errno),
                         openssl_errors()));
      }
      n = rc;
    } else {
      do {
        n = ::recv(fd, buffer, sizeof buffer, 0);
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        fail("connection closed by server");
      }
      if (n < 0) {
        fail(errno == EAGAIN ? std::string("read timed out")
                             : fmt::format("read: {}", std::strerror(errno)));
      }
    }
    if (redisReaderFeed(reader, buffer, static_cast<std::size_t>(n)) != REDIS_OK) {
      fail("hiredis reader rejected input");
    }
  }

  reply read_reply() {
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
        fail(fmt::format("protocol error: {}", reader->errstr));
      }
      if (raw != nullptr) {
        reply out = convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        return out;
      }
      read_some();
    }
  }
};

sync_client::sync_client(client_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  impl_->reader = redisReaderCreate();
  impl_->connect_tcp();
  if (impl_->options.tls) {
    impl_->start_tls();
  }
  if (!impl_->options.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!impl_->options.user.empty()) {
      auth.push_back(impl_->options.user);
    }
    auth.push_back(impl_->options.password);
    const reply answer = command(auth);
    if (answer.is_error()) {
      impl_->fail("AUTH failed: " + answer.str);  // the reply never contains the password
    }
  }
}

sync_client::~sync_client() = default;
sync_client::sync_client(sync_client&&) noexcept = default;
sync_client& sync_client::operator=(sync_client&&) noexcept = default;

reply sync_client::command(const std::vector<std::string>& argv) {
  impl_->write_all(format_command(argv));
  return impl_->read_reply();
}

reply sync_client::checked(const std::vector<std::string>& argv) {
  reply answer = command(argv);
  if (answer.is_error()) {
    throw std::runtime_error(
        fmt::format("{} on {} failed: {}", printable(argv.at(0)), address(), answer.str));
  }
  return answer;
}

std::vector<reply> sync_client::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  constexpr std::size_t max_commands = 1000;
  constexpr std::size_t max_bytes = std::size_t{4} * 1024 * 1024;
  std::vector<reply> replies;
  replies.reserve(cmds.size());
  std::size_t next = 0;
  while (next < cmds.size()) {
    // Bounded chunks keep both our buffer and the server's reply buffer small.
    std::string chunk;
    std::size_t count = 0;
    while (next < cmds.size() && count < max_commands && chunk.size() < max_bytes) {
      chunk += format_command(cmds[next++]);
      ++count;
    }
    impl_->write_all(chunk);
    for (std::size_t i = 0; i < count; ++i) {
      replies.push_back(impl_->read_reply());
    }
  }
  return replies;
}

std::vector<reply> sync_client::raw(std::string_view bytes, std::size_t replies) {
  impl_->write_all(bytes);
  std::vector<reply> out;
  for (std::size_t i = 0; i < replies; ++i) {
    out.push_back(impl_->read_reply());
  }
  return out;
}

const client_options& sync_client::options() const noexcept { return impl_->options; }

std::string sync_client::address() const { return impl_->where(); }

std::string connection_error(const client_options& options) {
  try {
    const reply pong = sync_client(options).command({"PING"});
    return pong.kind == reply_kind::status && pong.str == "PONG" ? "" : to_string(pong);
  } catch (const client_error& e) {
    return e.what();
  }
}

}  // namespace ferry::testing
