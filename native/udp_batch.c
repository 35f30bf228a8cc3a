/*
 * Batched datagram I/O for the UDP pool of a scan (src/dns/transport/datagram.ts), Linux only.
 *
 * Written by hand because neither Node nor a maintained package offers it: node:dgram makes one system call and
 * one call into JavaScript per datagram, and a scan sends and receives hundreds of thousands of small ones.
 * Here a connected socket sends a whole burst with one sendmmsg(2) and reads up to BATCH replies with one
 * recvmmsg(2), handing them to JavaScript in one call (one buffer and an array of lengths). libuv tells when
 * the socket is readable (uv_poll), so the socket lives in Node's own event loop like any other handle.
 *
 * JavaScript API (see datagram.ts):
 *   open(host, port, family, receiveBufferBytes, onBatch(data, lengths, sources), onError(code, syscall), afterBatch(),
 *        onWritable()) -> handle
 *     afterBatch runs once the promise jobs of a batch have run, so that the queries they made can go out at
 *     once, while the server works and the next batch is read; onWritable, once the socket has room again after
 *     a send that found its buffer full
 *   send(handle, data, offsets, count, result) -> result[0] = datagrams sent from the start, result[1] = 0 or
 *     the libuv error code that stopped the burst (a full buffer is not an error: onWritable follows)
 *   setRef(handle, on), close(handle)
 * A length below zero (~len) marks a datagram from another source than the connected peer (the kernel delivers
 * none to a connected socket; checked all the same); `sources` then gives its "address:port" at the same index,
 * and is undefined when every datagram came from the peer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define SLOT 65536 /* larger than any UDP payload: no datagram is cut */
#define SEND_CHUNK 256
#define READ_ROUNDS 16

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int closing;   /* close() was called: no more callbacks */
  int uv_closed; /* libuv is done with the handle */
  int js_gone;   /* the JavaScript handle was collected */
  int want_write; /* a send found the buffer full: tell JavaScript when there is room */
  napi_ref on_batch;
  napi_ref on_error;
  napi_ref after_batch;
  napi_ref on_writable;
  napi_ref resource;
  napi_async_context ctx;
  /* Closes the socket when the environment ends first (a worker thread exiting): see open. */
  napi_async_cleanup_hook_handle cleanup;
  struct sockaddr_storage peer;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage names[BATCH];
  char *bufs;
} sock_t;

#define CHECK(env, call)                                                                                       \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      napi_throw_error((env), "MX_NATIVE", "mxray_udp: " #call " failed");                                     \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

static void release(sock_t *s) {
  free(s->bufs);
  free(s);
}

static void throw_errno(napi_env env, const char *syscall, int err) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s %s (%s)", syscall, uv_err_name(-err), strerror(err));
  napi_throw_error(env, uv_err_name(-err), msg);
}

/* Calls a JavaScript callback from the event loop; an exception in it is reported as uncaught, as Node does. */
static void call_js(sock_t *s, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value fn, resource, ignored;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok) return;
  if (napi_get_reference_value(env, s->resource, &resource) != napi_ok) return;
  if (napi_make_callback(env, s->ctx, resource, fn, argc, argv, &ignored) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void report_error(sock_t *s, const char *syscall, int uv_err) {
  napi_value argv[2];
  napi_create_string_utf8(s->env, uv_err_name(uv_err), NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_string_utf8(s->env, syscall, NAPI_AUTO_LENGTH, &argv[1]);
  call_js(s, s->on_error, 2, argv);
}

static void on_poll(uv_poll_t *handle, int status, int events);

static int from_peer(const sock_t *s, const struct sockaddr_storage *from) {
  if (from->ss_family != s->peer.ss_family) return 0;
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from, *b = (const struct sockaddr_in *)&s->peer;
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from, *b = (const struct sockaddr_in6 *)&s->peer;
  return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

/* "address:port" of a datagram's source, as node:dgram would give it. */
static napi_status describe(const struct sockaddr_storage *from, napi_env env, napi_value *out) {
  char text[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from;
    inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
    port = ntohs(a->sin_port);
  } else if (from->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
    inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
    port = ntohs(a->sin6_port);
  }
  snprintf(text, sizeof text, "%s:%u", addr, port);
  return napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, out);
}

static void poll_for(sock_t *s) {
  if (!s->closing) uv_poll_start(&s->poll, UV_READABLE | (s->want_write ? UV_WRITABLE : 0), on_poll);
}

static void read_batches(sock_t *s) {
  napi_env env = s->env;
  for (int round = 0; round < READ_ROUNDS && !s->closing; round++) {
    for (int i = 0; i < BATCH; i++) {
      s->msgs[i].msg_hdr.msg_namelen = sizeof s->names[i];
      s->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(s, "recvmmsg", -errno);
      break;
    }
    if (n == 0) break;
    size_t total = 0;
    for (int i = 0; i < n; i++) total += s->msgs[i].msg_len;
    napi_value argv[3], lengths_ab;
    void *data, *lengths_data;
    if (napi_create_buffer(env, total > 0 ? total : 1, &data, &argv[0]) != napi_ok) break;
    if (napi_create_arraybuffer(env, (size_t)n * sizeof(int32_t), &lengths_data, &lengths_ab) != napi_ok) break;
    if (napi_create_typedarray(env, napi_int32_array, (size_t)n, lengths_ab, 0, &argv[1]) != napi_ok) break;
    int32_t *lengths = lengths_data;
    napi_get_undefined(env, &argv[2]);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
      unsigned len = s->msgs[i].msg_len;
      memcpy((char *)data + at, s->iov[i].iov_base, len);
      at += len;
      lengths[i] = (int32_t)len;
      if (from_peer(s, &s->names[i])) continue;
      lengths[i] = ~(int32_t)len;
      napi_value source;
      if (describe(&s->names[i], env, &source) != napi_ok) continue;
      napi_valuetype type;
      napi_typeof(env, argv[2], &type);
      if (type == napi_undefined) napi_create_array_with_length(env, (size_t)n, &argv[2]);
      napi_set_element(env, argv[2], (uint32_t)i, source);
    }
    call_js(s, s->on_batch, 3, argv);
    if (!s->closing) call_js(s, s->after_batch, 0, NULL);
    if (n < BATCH) break;
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  sock_t *s = handle->data;
  if (s->closing) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    /* libuv stops the poll and says EBADF when epoll reports an error on the socket: for a connected datagram
     * socket, a pending ICMP error (a refused port, an unreachable host). Read it (which clears it) and tell
     * JavaScript. It may be gone already, taken by a send made meanwhile (which reported it); either way the
     * socket is polled again, or it would never be read from again. */
    int err = 0;
    socklen_t len = sizeof err;
    if (status != UV_EBADF) report_error(s, "poll", status);
    else if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
      report_error(s, "recvmmsg", -err);
    poll_for(s);
  } else {
    if ((events & UV_WRITABLE) && s->want_write) {
      s->want_write = 0;
      poll_for(s);
      call_js(s, s->on_writable, 0, NULL);
    }
    if (events & UV_READABLE) read_batches(s);
  }
  napi_close_handle_scope(env, scope);
}

/* Lets go of the JavaScript side: once libuv is done with the handle, so never inside one of its callbacks. */
static void forget_js(sock_t *s) {
  napi_env env = s->env;
  napi_handle_scope scope;
  int scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  if (s->on_batch) napi_delete_reference(env, s->on_batch);
  if (s->on_error) napi_delete_reference(env, s->on_error);
  if (s->after_batch) napi_delete_reference(env, s->after_batch);
  if (s->on_writable) napi_delete_reference(env, s->on_writable);
  if (s->resource) napi_delete_reference(env, s->resource);
  if (s->ctx) napi_async_destroy(env, s->ctx);
  s->on_batch = s->on_error = s->after_batch = s->on_writable = s->resource = NULL;
  s->ctx = NULL;
  if (scoped) napi_close_handle_scope(env, scope);
}

static void on_uv_closed(uv_handle_t *handle) {
  sock_t *s = handle->data;
  close(s->fd);
  forget_js(s);
  s->uv_closed = 1;
  napi_async_cleanup_hook_handle cleanup = s->cleanup;
  s->cleanup = NULL;
  if (s->js_gone) release(s);
  /* Last: the environment may end as soon as this returns (a worker thread exiting). */
  if (cleanup) napi_remove_async_cleanup_hook(cleanup);
}

static void close_sock(sock_t *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_uv_closed);
}

/* The environment is ending with the socket open: close it, and let the environment end once libuv is done. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  close_sock(arg);
}

static void finalize(napi_env env, void *data, void *hint) {
  sock_t *s = data;
  s->js_gone = 1;
  if (!s->closing) close_sock(s);
  else if (s->uv_closed) release(s);
}

static sock_t *unwrap(napi_env env, napi_value handle) {
  void *data = NULL;
  if (napi_get_value_external(env, handle, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "MX_NATIVE", "mxray_udp: not a socket handle");
    return NULL;
  }
  return data;
}

/* The call's first `n` arguments into argv; false (a TypeError thrown, naming `usage`) when there are fewer. */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, "MX_NATIVE", usage);
    return 0;
  }
  return 1;
}

/* The socket handle a call's first argument must be, with its other arguments; NULL (thrown) when not. */
static sock_t *socket_call(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  return get_args(env, info, n, argv, usage) ? unwrap(env, argv[0]) : NULL;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!get_args(env, info, 8, argv,
                "mxray_udp.open(host, port, family, receiveBufferBytes, onBatch, onError, afterBatch, onWritable)"))
    return NULL;
  char host[64];
  size_t host_len;
  uint32_t port, family, buffer_bytes;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len));
  CHECK(env, napi_get_value_uint32(env, argv[1], &port));
  CHECK(env, napi_get_value_uint32(env, argv[2], &family));
  CHECK(env, napi_get_value_uint32(env, argv[3], &buffer_bytes));

  struct sockaddr_storage peer;
  memset(&peer, 0, sizeof peer);
  socklen_t peer_len;
  int ok;
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&peer;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    ok = inet_pton(AF_INET6, host, &a->sin6_addr) == 1;
    peer_len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&peer;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    ok = inet_pton(AF_INET, host, &a->sin_addr) == 1;
    peer_len = sizeof *a;
  }
  if (!ok || port == 0 || port > 65535) {
    napi_throw_error(env, "ERR_SOCKET_BAD_PORT", "mxray_udp: the server must be an IP address and a port 1-65535");
    return NULL;
  }

  int fd = socket(peer.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  int size = (int)buffer_bytes;
  /* Best effort, as node:dgram's recvBufferSize: the kernel caps it at its rmem_max. The send buffer stays the
   * system's default: a large one would let a burst queue up (or be dropped unseen) on a congested link instead
   * of filling, which is what tells the pool to wait for room (onWritable). */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (connect(fd, (struct sockaddr *)&peer, peer_len) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "connect", err);
    return NULL;
  }

  sock_t *s = calloc(1, sizeof *s);
  char *bufs = malloc((size_t)BATCH * SLOT);
  if (!s || !bufs) {
    free(s);
    free(bufs);
    close(fd);
    napi_throw_error(env, "ENOMEM", "mxray_udp: out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->peer = peer;
  s->bufs = bufs;
  for (int i = 0; i < BATCH; i++) {
    s->iov[i].iov_base = bufs + (size_t)i * SLOT;
    s->iov[i].iov_len = SLOT;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->names[i];
  }

  /* The JavaScript side first (undone by forget_js), then the poll, then the handle JavaScript keeps. */
  napi_value resource, name, handle;
  napi_status st = napi_create_object(env, &resource);
  if (st == napi_ok) st = napi_create_string_utf8(env, "MXRAY_UDP", NAPI_AUTO_LENGTH, &name);
  if (st == napi_ok) st = napi_async_init(env, resource, name, &s->ctx);
  if (st == napi_ok) st = napi_create_reference(env, resource, 1, &s->resource);
  if (st == napi_ok) st = napi_create_reference(env, argv[4], 1, &s->on_batch);
  if (st == napi_ok) st = napi_create_reference(env, argv[5], 1, &s->on_error);
  if (st == napi_ok) st = napi_create_reference(env, argv[6], 1, &s->after_batch);
  if (st == napi_ok) st = napi_create_reference(env, argv[7], 1, &s->on_writable);
  uv_loop_t *loop;
  int rc = st == napi_ok && napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init_socket(loop, &s->poll, fd)
                                                                           : UV_EINVAL;
  if (rc != 0) {
    close(fd);
    forget_js(s);
    release(s);
    if (st != napi_ok) napi_throw_error(env, "MX_NATIVE", "mxray_udp: could not set up the socket's callbacks");
    else throw_errno(env, "uv_poll_init", -rc);
    return NULL;
  }
  s->poll.data = s;
  /* From here on the socket is closed through libuv (close_sock), which frees it once the handle is done. */
  rc = uv_poll_start(&s->poll, UV_READABLE, on_poll);
  if (rc == 0 && napi_add_async_cleanup_hook(env, on_env_cleanup, s, &s->cleanup) != napi_ok) rc = UV_EINVAL;
  if (rc == 0 && napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) rc = UV_EINVAL;
  if (rc != 0) {
    s->js_gone = 1; /* no handle was given out: free it when closed */
    close_sock(s);
    throw_errno(env, "uv_poll_start", -rc);
    return NULL;
  }
  return handle;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  sock_t *s = socket_call(env, info, 5, argv, "mxray_udp.send(handle, data, offsets, count, result)");
  if (!s) return NULL;
  char *data;
  size_t data_len, offsets_len, result_len, ignored_offset;
  uint32_t count;
  napi_typedarray_type offsets_type, result_type;
  void *offsets_data, *result_data;
  napi_value ab;
  CHECK(env, napi_get_buffer_info(env, argv[1], (void **)&data, &data_len));
  CHECK(env, napi_get_typedarray_info(env, argv[2], &offsets_type, &offsets_len, &offsets_data, &ab, &ignored_offset));
  CHECK(env, napi_get_value_uint32(env, argv[3], &count));
  CHECK(env, napi_get_typedarray_info(env, argv[4], &result_type, &result_len, &result_data, &ab, &ignored_offset));
  uint32_t *offsets = offsets_data;
  int32_t *result = result_data;
  int fits = offsets_type == napi_uint32_array && offsets_len >= (size_t)count + 1 && result_type == napi_int32_array &&
             result_len >= 2;
  for (uint32_t i = 0; fits && i < count; i++) fits = offsets[i] <= offsets[i + 1] && offsets[i + 1] <= data_len;
  if (!fits) {
    napi_throw_range_error(env, "MX_NATIVE", "mxray_udp.send: the offsets or the result do not fit the data");
    return NULL;
  }
  result[0] = 0;
  result[1] = 0;
  if (s->closing) {
    result[1] = UV_EBADF;
    return NULL;
  }
  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iov[SEND_CHUNK];
  uint32_t sent = 0;
  while (sent < count) {
    uint32_t k = count - sent < SEND_CHUNK ? count - sent : SEND_CHUNK;
    for (uint32_t i = 0; i < k; i++) {
      iov[i].iov_base = data + offsets[sent + i];
      iov[i].iov_len = offsets[sent + i + 1] - offsets[sent + i];
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(s->fd, msgs, k, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        /* The buffer is full: the rest waits until the socket has room (onWritable). */
        s->want_write = 1;
        poll_for(s);
      } else {
        /* A short count before this call hid the error (sendmmsg reports only the first): it is this one. */
        result[1] = -errno;
      }
      break;
    }
    sent += (uint32_t)r;
  }
  result[0] = (int32_t)sent;
  return NULL;
}

static napi_value js_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bool on;
  sock_t *s = socket_call(env, info, 2, argv, "mxray_udp.setRef(handle, on)");
  if (!s) return NULL;
  CHECK(env, napi_get_value_bool(env, argv[1], &on));
  if (!s->closing) {
    if (on) uv_ref((uv_handle_t *)&s->poll);
    else uv_unref((uv_handle_t *)&s->poll);
  }
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  sock_t *s = socket_call(env, info, 1, argv, "mxray_udp.close(handle)");
  if (!s) return NULL;
  close_sock(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRef", NULL, js_ref, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
