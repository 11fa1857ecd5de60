//! A deliberately tiny HTTP/1.1 client over `std::net::TcpStream`.
//!
//! The CLI makes one GET per run to a plain-http service, so a full client
//! (reqwest + hyper + a TLS stack) would multiply build time for nothing.
//! Supported: `http://host[:port][/base]` URLs, `Content-Length`,
//! `Transfer-Encoding: chunked` and read-until-close bodies.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// A parsed `http://` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash ("" for the root).
    pub base_path: String,
}

impl BaseUrl {
    pub fn parse(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| Error::Url(format!("{url:?}: only http:// URLs are supported")))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(Error::Url(format!("{url:?}: missing host")));
        }
        // `[::1]:8080` style IPv6 literals keep their brackets in `host`.
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let port = authority[i + 1..]
                    .parse()
                    .map_err(|_| Error::Url(format!("{url:?}: invalid port")))?;
                (&authority[..i], port)
            }
            _ => (authority, 80),
        };
        Ok(BaseUrl {
            host: host.to_owned(),
            port,
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.base_path)
    }
}

#[derive(Debug)]
pub enum Error {
    Url(String),
    Io(io::Error),
    Protocol(String),
    Status(u16, String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(msg) => write!(f, "bad URL {msg}"),
            Error::Io(e) => write!(f, "connection failed: {e}"),
            Error::Protocol(msg) => write!(f, "invalid HTTP response: {msg}"),
            Error::Status(code, body) => write!(f, "server answered {code}: {}", body.trim()),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// GETs `path` relative to `base` and returns the body of a 2xx response.
pub fn get(base: &BaseUrl, path: &str) -> Result<String, Error> {
    let host = base.host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host, base.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Error::Url(format!("{}: host did not resolve", base.host)))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;

    // `Connection: close` lets us read the body until EOF if the server sends
    // neither Content-Length nor chunked encoding.
    write!(
        stream,
        "GET {}{} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: products/{}\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n",
        base.base_path,
        path,
        base.host,
        base.port,
        env!("CARGO_PKG_VERSION"),
    )?;
    stream.flush()?;
    read_response(BufReader::new(stream))
}

fn read_response<R: BufRead>(mut reader: R) -> Result<String, Error> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Protocol(format!("bad status line {:?}", line.trim_end())))?;

    let mut content_length = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(Error::Protocol("headers ended early".into()));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| Error::Protocol("bad Content-Length".into()))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }

    let body = if chunked {
        read_chunked(&mut reader)?
    } else if let Some(len) = content_length {
        let mut buf = vec![0; len];
        reader.read_exact(&mut buf)?;
        buf
    } else {
        let mut buf = Vec::new();
        reader.read_to_end(&mut buf)?;
        buf
    };
    let body = String::from_utf8(body).map_err(|_| Error::Protocol("body is not UTF-8".into()))?;

    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(Error::Status(status, body))
    }
}

fn read_chunked<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        // Chunk extensions (`;name=value`) are allowed and ignored.
        let size_hex = line.trim_end().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| Error::Protocol(format!("bad chunk size {size_hex:?}")))?;
        if size == 0 {
            return Ok(body); // trailers, if any, are ignored
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?; // CRLF after the chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        let url = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.base_path.as_str()),
            ("127.0.0.1", 8080, "")
        );
        let url = BaseUrl::parse("http://api.internal/catalog/").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.base_path.as_str()),
            ("api.internal", 80, "/catalog")
        );
        let url = BaseUrl::parse("http://[::1]:9000").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("[::1]", 9000));
        assert!(BaseUrl::parse("https://example.com").is_err());
        assert!(BaseUrl::parse("http://host:notaport").is_err());
        assert!(BaseUrl::parse("http://").is_err());
    }

    #[test]
    fn reads_content_length_bodies() {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-type: text/plain\r\n\r\nhello";
        assert_eq!(read_response(raw.as_bytes()).unwrap(), "hello");
    }

    #[test]
    fn reads_chunked_bodies() {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;x=y\r\npedia!\r\n0\r\n\r\n";
        assert_eq!(read_response(raw.as_bytes()).unwrap(), "Wikipedia!");
    }

    #[test]
    fn reports_error_statuses() {
        let raw = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
        match read_response(raw.as_bytes()) {
            Err(Error::Status(404, body)) => assert_eq!(body, "not found"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
