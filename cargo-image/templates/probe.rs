//! cargo-image-probe: a health probe for images that have no shell. Written by
//! `cargo xtask dockerfile`. Exits 0 when `GET <url>` answers with a 2xx status within
//! five seconds. `url` is `http://<IPv4 or localhost>:<port><path>`.
//!
//! No std and no libc: raw Linux system calls (x86_64, aarch64), so the static binary is a
//! few kilobytes (with std and a static glibc it would weigh over a megabyte).
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

#[cfg(target_arch = "x86_64")]
mod sys {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const SOCKET: usize = 41;
    pub const CONNECT: usize = 42;
    pub const SETSOCKOPT: usize = 54;
    pub const EXIT_GROUP: usize = 231;
}
#[cfg(target_arch = "aarch64")]
mod sys {
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const SOCKET: usize = 198;
    pub const CONNECT: usize = 203;
    pub const SETSOCKOPT: usize = 208;
    pub const EXIT_GROUP: usize = 94;
}

#[cfg(target_arch = "x86_64")]
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    main = sym probe_main,
);
#[cfg(target_arch = "aarch64")]
global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "bl {main}",
    main = sym probe_main,
);

#[cfg(target_arch = "x86_64")]
unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b,
         in("rdx") c, in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _,
         options(nostack));
    ret
}
#[cfg(target_arch = "aarch64")]
unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    asm!("svc 0", in("x8") n, inlateout("x0") a as isize => ret, in("x1") b, in("x2") c,
         in("x3") d, in("x4") e, options(nostack));
    ret
}

fn exit(code: usize) -> ! {
    unsafe { syscall(sys::EXIT_GROUP, code, 0, 0, 0, 0) };
    loop {}
}

fn write(fd: usize, bytes: &[u8]) -> bool {
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        let n = unsafe { syscall(sys::WRITE, fd, rest.as_ptr() as usize, rest.len(), 0, 0) };
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

fn fail(url: &[u8], why: &[u8]) -> ! {
    write(2, b"unhealthy: ");
    write(2, url);
    write(2, why);
    write(2, b"\n");
    exit(1)
}

/// `a.b.c.d:port` or `localhost:port` → (address in network byte order, port).
fn parse_host(host: &[u8]) -> Option<([u8; 4], u16)> {
    let colon = host.iter().rposition(|&b| b == b':')?;
    let (name, port) = (&host[..colon], &host[colon + 1..]);
    let mut p: u32 = 0;
    for &d in port {
        if !d.is_ascii_digit() || p > 65535 {
            return None;
        }
        p = p * 10 + (d - b'0') as u32;
    }
    if port.is_empty() || p > 65535 {
        return None;
    }
    if name == b"localhost" {
        return Some(([127, 0, 0, 1], p as u16));
    }
    let mut ip = [0u8; 4];
    let mut parts = name.split(|&b| b == b'.');
    for octet in ip.iter_mut() {
        let part = parts.next()?;
        let mut v: u32 = 0;
        for &d in part {
            if !d.is_ascii_digit() || v > 255 {
                return None;
            }
            v = v * 10 + (d - b'0') as u32;
        }
        if part.is_empty() || v > 255 {
            return None;
        }
        *octet = v as u8;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((ip, p as u16))
}

#[no_mangle]
unsafe extern "C" fn probe_main(sp: *const usize) -> ! {
    let argc = *sp;
    if argc < 2 {
        fail(b"", b"usage: cargo-image-probe http://127.0.0.1:PORT/PATH");
    }
    let arg = *sp.add(2) as *const u8;
    let mut len = 0;
    // A volatile read: the plain loop would become a call to `strlen`, which is not here.
    while core::ptr::read_volatile(arg.add(len)) != 0 {
        len += 1;
    }
    let url = core::slice::from_raw_parts(arg, len);
    let rest = url.strip_prefix(b"http://").unwrap_or(url);
    let slash = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let (host, path) = (&rest[..slash], &rest[slash..]);
    let path: &[u8] = if path.is_empty() { b"/" } else { path };
    let Some((ip, port)) = parse_host(host) else {
        fail(url, b": expected http://<IPv4 or localhost>:<port>/<path>");
    };

    // socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), with 5 s send (and connect) and
    // receive timeouts.
    let fd = syscall(sys::SOCKET, 2, 1 | 0o2000000, 0, 0, 0);
    if fd < 0 {
        fail(url, b": cannot create a socket");
    }
    let fd = fd as usize;
    let timeout: [u64; 2] = [5, 0];
    for option in [20, 21] {
        syscall(
            sys::SETSOCKOPT,
            fd,
            1,
            option,
            timeout.as_ptr() as usize,
            16,
        );
    }
    let mut addr = [0u8; 16];
    addr[0] = 2; // AF_INET, little-endian u16 on both architectures
    addr[2] = (port >> 8) as u8;
    addr[3] = port as u8;
    addr[4] = ip[0];
    addr[5] = ip[1];
    addr[6] = ip[2];
    addr[7] = ip[3];
    if syscall(sys::CONNECT, fd, addr.as_ptr() as usize, 16, 0, 0) < 0 {
        fail(url, b": connection failed");
    }
    let sent = write(fd, b"GET ")
        && write(fd, path)
        && write(fd, b" HTTP/1.1\r\nHost: ")
        && write(fd, host)
        && write(fd, b"\r\nConnection: close\r\n\r\n");
    if !sent {
        fail(url, b": sending the request failed");
    }
    let mut status = [0u8; 12];
    let mut got = 0;
    while got < status.len() {
        let n = syscall(
            sys::READ,
            fd,
            status.as_mut_ptr() as usize + got,
            status.len() - got,
            0,
            0,
        );
        if n <= 0 {
            fail(url, b": no HTTP answer");
        }
        got += n as usize;
    }
    if status.starts_with(b"HTTP/1.") && status[9] == b'2' {
        exit(0)
    }
    fail(url, b" answered without a 2xx status")
}

/// Referenced by the prebuilt `core` (built with unwinding); never called with panic=abort.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(2)
}
