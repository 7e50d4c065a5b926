//! A tiny HTTP/1.1 client for komodod's JSON-RPC and iguana's HTTP API: one
//! POST per connection (`Connection: close`), a deadline over the whole
//! exchange, and errors that say which of the usual things went wrong
//! (nothing listening, no answer, credentials refused, address not allowed).
//! Credentials go into one request header, built in a buffer that is wiped
//! after sending; they never appear in an error.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::json;
use crate::secrets::creds::Credentials;
use zeroize::Zeroize;

/// Larger replies are not from komodod or iguana (iguana's `help` is ~100 KiB).
const MAX_RESPONSE: usize = 16 << 20;
const MAX_HEAD: usize = 64 << 10;

/// What came back: the status and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// The host name does not resolve (a compose service that is not up).
    Unresolved { host: String, reason: String },
    /// Connection refused: nothing listens on the port.
    Refused,
    /// Connected (or trying to), but no complete answer before the deadline.
    Timeout(Duration),
    /// HTTP 401: the daemon has other credentials.
    Unauthorized,
    /// HTTP 403: the daemon's rpcallowip does not include us.
    Forbidden,
    /// Another HTTP status without a JSON-RPC error in the body.
    Http { status: u16, reason: String },
    /// The daemon answered with a JSON-RPC error object.
    Rpc { code: i64, message: String },
    /// The answer is not HTTP or not the JSON expected.
    Protocol(String),
    /// Any other network error (no route, reset).
    Io(String),
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Unresolved { host, reason } => write!(f, "cannot resolve `{host}`: {reason}"),
            RpcError::Refused => write!(f, "connection refused (nothing is listening)"),
            RpcError::Timeout(t) => write!(f, "no answer within {}", seconds(*t)),
            RpcError::Unauthorized => write!(
                f,
                "credentials refused (HTTP 401): the daemon's rpcuser/rpcpassword are not the ones derived from this seed"
            ),
            RpcError::Forbidden => write!(
                f,
                "not allowed (HTTP 403): the daemon's rpcallowip does not list this address (see `rpc.allow`)"
            ),
            RpcError::Http { status, reason } => write!(f, "HTTP {status} {reason}"),
            RpcError::Rpc { code: -28, message } => {
                write!(f, "still starting (RPC error -28: {message})")
            }
            RpcError::Rpc { code, message } => write!(f, "RPC error {code}: {message}"),
            RpcError::Protocol(what) => write!(f, "not a valid answer: {what}"),
            RpcError::Io(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for RpcError {}

/// `5 s`, `0.5 s`: how durations read in messages.
pub fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Text from a server, made safe for a one-line log: escaped and bounded.
pub fn printable(text: &str) -> String {
    let mut s: String = text
        .trim()
        .chars()
        .flat_map(char::escape_debug)
        .take(300)
        .collect();
    if s.len() >= 300 {
        s.push('…');
    }
    s
}

/// POSTs `body` to `http://host:port/`, with HTTP basic auth when `auth` is
/// given, and returns whatever HTTP answer comes back within `timeout`.
pub fn post(
    host: &str,
    port: u16,
    auth: Option<&Credentials>,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, RpcError> {
    let deadline = Instant::now() + timeout;
    let stream = connect(host, port, deadline, timeout)?;
    let mut head = Vec::with_capacity(256);
    let _ = write!(
        head,
        "POST / HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: dokomodo/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if let Some(creds) = auth {
        head.extend_from_slice(b"Authorization: Basic ");
        let mut userpass = Vec::with_capacity(creds.rpcuser.len() + creds.rpcpassword.len() + 1);
        userpass.extend_from_slice(creds.rpcuser.as_bytes());
        userpass.push(b':');
        userpass.extend_from_slice(creds.rpcpassword.as_bytes());
        base64(&userpass, &mut head);
        userpass.zeroize();
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let sent = send(&stream, &head, body, deadline, timeout);
    head.zeroize();
    sent?;
    receive(&stream, deadline, timeout)
}

fn connect(
    host: &str,
    port: u16,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, RpcError> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| RpcError::Unresolved {
            host: host.to_owned(),
            reason: crate::describe_io(&e),
        })?
        .collect();
    let mut last = RpcError::Unresolved {
        host: host.to_owned(),
        reason: "no address".to_owned(),
    };
    for addr in addrs {
        let Some(left) = remaining(deadline) else {
            return Err(RpcError::Timeout(timeout));
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = io_error(&e, timeout),
        }
    }
    Err(last)
}

fn send(
    stream: &TcpStream,
    head: &[u8],
    body: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), RpcError> {
    let mut w = Deadlined { stream, deadline };
    // Two writes, so the body (which may hold a secret) is never copied.
    w.write_all(head)
        .and_then(|()| w.write_all(body))
        .map_err(|e| io_error(&e, timeout))
}

/// Reads until a whole response is there. The buffers are wiped after: a
/// reply (to walletpassphrase) may echo what the request carried.
fn receive(stream: &TcpStream, deadline: Instant, timeout: Duration) -> Result<Response, RpcError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let result = receive_into(stream, deadline, timeout, &mut buf, &mut chunk);
    buf.zeroize();
    chunk.zeroize();
    result
}

fn receive_into(
    stream: &TcpStream,
    deadline: Instant,
    timeout: Duration,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
) -> Result<Response, RpcError> {
    let mut r = Deadlined { stream, deadline };
    loop {
        let n = match r.read(chunk) {
            Ok(n) => n,
            // A server that answers and then resets is still an answer.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !buf.is_empty() => 0,
            Err(e) => return Err(io_error(&e, timeout)),
        };
        buf.extend_from_slice(&chunk[..n]);
        match parse_response(buf, n == 0).map_err(RpcError::Protocol)? {
            Parsed::Done(response) => return Ok(response),
            Parsed::Incomplete if n == 0 => {
                let what = if buf.is_empty() {
                    "the connection closed without an answer"
                } else {
                    "the connection closed mid-answer"
                };
                return Err(RpcError::Protocol(what.to_owned()));
            }
            Parsed::Incomplete if buf.len() > MAX_RESPONSE => {
                return Err(RpcError::Protocol(format!(
                    "the answer is larger than {} MiB",
                    MAX_RESPONSE >> 20
                )));
            }
            Parsed::Incomplete => {}
        }
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

fn io_error(e: &io::Error, timeout: Duration) -> RpcError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => RpcError::Refused,
        // A socket read timeout surfaces as EAGAIN (WouldBlock) on Linux.
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => RpcError::Timeout(timeout),
        _ => RpcError::Io(crate::describe_io(e)),
    }
}

/// A stream whose every read and write gives up at one deadline, so a server
/// that trickles bytes cannot hold a health probe past its timeout.
struct Deadlined<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Deadlined<'_> {
    fn left(&self) -> io::Result<Duration> {
        remaining(self.deadline).ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))
    }
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        (&mut &*self.stream).read(buf)
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        (&mut &*self.stream).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Incomplete,
    Done(Response),
}

/// Parses a whole HTTP/1.x response from what has been read so far; `eof`
/// says the server closed the connection (which ends a body that has neither
/// a Content-Length nor chunked encoding).
fn parse_response(buf: &[u8], eof: bool) -> Result<Parsed, String> {
    let Some((head_len, lines)) = split_head(buf)? else {
        return Ok(Parsed::Incomplete);
    };
    let status_line = lines.first().copied().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!(
            "expected an HTTP/1.x status line, got `{}`",
            printable(status_line)
        ));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| format!("bad HTTP status line `{}`", printable(status_line)))?;
    let reason = parts.next().unwrap_or_default().to_owned();
    if (100..200).contains(&status) {
        // An interim answer (100 Continue): the real one follows.
        return parse_response(&buf[head_len..], eof);
    }
    let mut length = None;
    let mut chunked = false;
    for line in &lines[1..] {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("bad HTTP header line `{}`", printable(line)));
        };
        // Real iguana writes `Content-Length :       51`: a space before the
        // colon, which strict HTTP refuses and its clients read anyway.
        let name = name.trim_end();
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length `{}`", printable(value)))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        }
    }
    let rest = &buf[head_len..];
    let body = if chunked {
        match dechunk(rest)? {
            Some(body) => body,
            None => return Ok(Parsed::Incomplete),
        }
    } else if let Some(length) = length {
        if length > MAX_RESPONSE {
            return Err(format!("Content-Length {length} is too large"));
        }
        if rest.len() < length {
            return Ok(Parsed::Incomplete);
        }
        rest[..length].to_vec()
    } else if status == 204 || status == 304 {
        Vec::new()
    } else if eof {
        rest.to_vec()
    } else {
        return Ok(Parsed::Incomplete);
    };
    Ok(Parsed::Done(Response {
        status,
        reason,
        body,
    }))
}

/// The length of the head (through its blank line) and its lines, or `None`
/// while the blank line has not arrived. Bare `\n` line ends are accepted.
fn split_head(buf: &[u8]) -> Result<Option<(usize, Vec<&str>)>, String> {
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
        let end = start + nl;
        let line = buf[start..end]
            .strip_suffix(b"\r")
            .unwrap_or(&buf[start..end]);
        if line.is_empty() && !lines.is_empty() {
            return Ok(Some((end + 1, lines)));
        }
        if !line.is_empty() {
            lines.push(
                std::str::from_utf8(line).map_err(|_| "the HTTP head is not text".to_owned())?,
            );
        }
        start = end + 1;
        if start > MAX_HEAD {
            break;
        }
    }
    if buf.len() > MAX_HEAD {
        return Err(format!(
            "the HTTP head is larger than {} KiB",
            MAX_HEAD >> 10
        ));
    }
    Ok(None)
}

/// Decodes a chunked body; `None` until the last chunk and trailers arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let line =
            std::str::from_utf8(&rest[..nl]).map_err(|_| "bad chunk size line".to_owned())?;
        let size_text = line
            .trim_end_matches('\r')
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size `{}`", printable(size_text)))?;
        rest = &rest[nl + 1..];
        if size == 0 {
            // Trailers, then a blank line.
            loop {
                let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                    return Ok(None);
                };
                let blank = rest[..nl]
                    .strip_suffix(b"\r")
                    .unwrap_or(&rest[..nl])
                    .is_empty();
                rest = &rest[nl + 1..];
                if blank {
                    return Ok(Some(body));
                }
            }
        }
        if size > MAX_RESPONSE || body.len() + size > MAX_RESPONSE {
            return Err("a chunk is too large".to_owned());
        }
        if rest.len() < size + 1 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size..];
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .ok_or("a chunk does not end with CRLF")?;
    }
}

/// Standard base64 with padding (RFC 4648), appended to `out`.
pub fn base64(input: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for group in input.chunks(3) {
        let n = (u32::from(group[0]) << 16)
            | (u32::from(group.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(group.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

/// Calls a komodod JSON-RPC 1.0 `method` with `params_json` (a JSON array's
/// text, e.g. `[]`) and returns the `result` as JSON text.
pub fn json_rpc(
    host: &str,
    port: u16,
    creds: &Credentials,
    method: &str,
    params_json: &str,
    timeout: Duration,
) -> Result<String, RpcError> {
    let mut body = String::with_capacity(64 + method.len() + params_json.len());
    body.push_str("{\"jsonrpc\":\"1.0\",\"id\":\"dokomodo\",\"method\":");
    crate::json::string_literal(&mut body, method);
    body.push_str(",\"params\":");
    body.push_str(params_json);
    body.push('}');
    let response = post(host, port, Some(creds), body.as_bytes(), timeout)?;
    interpret(&response)
}

/// komodod answers 401 and 403 with an empty body, and an RPC error with 500
/// (or 404 for an unknown method) and the error object in the body.
fn interpret(response: &Response) -> Result<String, RpcError> {
    match response.status {
        401 => return Err(RpcError::Unauthorized),
        403 => return Err(RpcError::Forbidden),
        _ => {}
    }
    let text = response.text();
    let members = json::members(&text);
    let field = |key: &str| {
        members
            .as_ref()
            .and_then(|m| m.iter().find(|(k, _)| k == key).map(|(_, v)| *v))
    };
    if let Some(error) = field("error").filter(|e| *e != "null") {
        let code = json::member(error, "code")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let message = json::member(error, "message")
            .and_then(json::string)
            .unwrap_or_else(|| error.to_owned());
        return Err(RpcError::Rpc {
            code,
            message: printable(&message),
        });
    }
    if response.status != 200 {
        return Err(RpcError::Http {
            status: response.status,
            reason: printable(&response.reason),
        });
    }
    match field("result") {
        Some(result) => Ok(result.to_owned()),
        None if members.is_none() => Err(RpcError::Protocol(format!(
            "expected a JSON object, got `{}`",
            printable(&text)
        ))),
        None => Err(RpcError::Protocol(
            "the JSON-RPC answer has no `result`".to_owned(),
        )),
    }
}

/// Waits between attempts: 0.5 s, doubling, at most 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_millis(500),
            cap: Duration::from_secs(5),
        }
    }
}

impl Iterator for Backoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let this = self.next;
        self.next = (self.next * 2).min(self.cap);
        Some(this)
    }
}

/// Tries `attempt` until it succeeds or `deadline` passes, sleeping per
/// `Backoff` in between (never past the deadline). Each try gets `per_try`,
/// cut to what is left. Returns the last error.
pub fn retry<T, E>(
    deadline: Instant,
    per_try: Duration,
    mut attempt: impl FnMut(Duration) -> Result<T, E>,
) -> Result<T, E> {
    let mut backoff = Backoff::default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let result = attempt(per_try.min(left).max(Duration::from_millis(100)));
        match result {
            Ok(v) => return Ok(v),
            Err(e) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(e);
                }
                std::thread::sleep(backoff.next().unwrap_or_default().min(left));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        let mut out = Vec::new();
        base64(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64(plain), encoded);
        }
        // `printf 'user:pa ss?' | base64`: the characters that use + and /.
        assert_eq!(b64("\u{fb}\u{ff}"), "w7vDvw==");
        assert_eq!(
            b64("user6c7c7a10aa152bb9:pass1a05"),
            "dXNlcjZjN2M3YTEwYWExNTJiYjk6cGFzczFhMDU="
        );
    }

    fn done(buf: &str) -> Response {
        match parse_response(buf.as_bytes(), false).unwrap() {
            Parsed::Done(r) => r,
            Parsed::Incomplete => panic!("incomplete: {buf:?}"),
        }
    }

    #[test]
    fn iguanas_space_before_the_colon_still_bounds_the_body() {
        // As real iguana writes its headers (seen with its build of dPoW).
        let r = done(
            "HTTP/1.1 200 OK\r\nContent-Length :       5\r\nCache-Control : no-cache\r\n\r\nhello",
        );
        assert_eq!(r.body.as_slice(), &b"hello"[..]);
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length :       5\r\n\r\nhel",
                false
            ),
            Ok(Parsed::Incomplete)
        );
    }

    #[test]
    fn content_length_body() {
        let r = done(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!(
            (r.status, r.reason.as_str(), r.body.as_slice()),
            (200, "OK", &b"hello"[..])
        );
        // Every prefix is incomplete, never an error or a short body.
        let full = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..full.len() {
            assert_eq!(
                parse_response(&full.as_bytes()[..cut], false),
                Ok(Parsed::Incomplete),
                "{cut}"
            );
        }
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let r = done(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n",
        );
        assert_eq!(r.body, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n",
                false
            ),
            Ok(Parsed::Incomplete)
        );
        assert!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            )
            .is_err()
        );
    }

    #[test]
    fn body_until_close_and_bare_newlines() {
        let head = b"HTTP/1.0 500 Internal Server Error\nServer: iguana\n\n{\"error\":\"x\"}";
        assert_eq!(parse_response(head, false), Ok(Parsed::Incomplete));
        let Ok(Parsed::Done(r)) = parse_response(head, true) else {
            panic!()
        };
        assert_eq!(
            (r.status, r.body.as_slice()),
            (500, &b"{\"error\":\"x\"}"[..])
        );
    }

    #[test]
    fn interim_answers_are_skipped_and_garbage_refused() {
        let r = done(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(r.status, 401);
        assert!(
            parse_response(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", false)
                .unwrap_err()
                .contains("status line")
        );
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n", false).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false).is_err());
    }

    fn answer(status: u16, body: &str) -> Result<String, RpcError> {
        interpret(&Response {
            status,
            reason: "R".to_owned(),
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn json_rpc_answers_are_told_apart() {
        assert_eq!(
            answer(
                200,
                "{\"result\":{\"blocks\":7},\"error\":null,\"id\":\"dokomodo\"}\n"
            ),
            Ok("{\"blocks\":7}".to_owned())
        );
        assert_eq!(answer(401, ""), Err(RpcError::Unauthorized));
        assert_eq!(answer(403, ""), Err(RpcError::Forbidden));
        assert_eq!(
            answer(
                500,
                "{\"result\":null,\"error\":{\"code\":-28,\"message\":\"Loading block index...\"},\"id\":\"dokomodo\"}"
            ),
            Err(RpcError::Rpc {
                code: -28,
                message: "Loading block index...".to_owned()
            })
        );
        assert_eq!(
            answer(502, "<html>bad gateway</html>"),
            Err(RpcError::Http {
                status: 502,
                reason: "R".to_owned()
            })
        );
        assert!(matches!(answer(200, "<html>"), Err(RpcError::Protocol(_))));
        assert!(matches!(
            answer(200, "{\"id\":1}"),
            Err(RpcError::Protocol(_))
        ));
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_five() {
        let waits: Vec<u64> = Backoff::default()
            .take(7)
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn retry_stops_at_the_deadline_with_the_last_error() {
        let start = Instant::now();
        let mut tries = 0;
        let r: Result<(), u32> = retry(
            start + Duration::from_millis(1200),
            Duration::from_secs(1),
            |_| {
                tries += 1;
                Err(tries)
            },
        );
        // 0 s, 0.5 s, 1.5 s would be the third try: past the deadline, so the
        // sleep is cut short and one last try happens at 1.2 s.
        assert_eq!(r, Err(3));
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn messages_never_show_what_the_caller_did_not_give() {
        assert_eq!(
            RpcError::Timeout(Duration::from_secs(5)).to_string(),
            "no answer within 5 s"
        );
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(printable("a\nb\u{1b}"), "a\\nb\\u{1b}");
    }
}
