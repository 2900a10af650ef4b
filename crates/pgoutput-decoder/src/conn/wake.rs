//! The receive low-water mark (`SO_RCVLOWAT`): fewer wake-ups while the reader lingers.
//!
//! While the reader lets changes gather (`batch.linger.ms`), it is not reading, yet every TCP
//! segment the server sends still wakes the thread that polls the socket, which finds nothing
//! to do and sleeps again: tens of wake-ups per wait. With a low-water mark the kernel reports
//! the socket readable only once that many bytes are queued. Reads are not affected: a
//! non-blocking read still returns whatever is there.

use std::io;
use std::os::fd::RawFd;

/// Sets the socket's receive low-water mark to `bytes` (at least 1, the kernel's default).
///
/// `fd` must be an open socket for the duration of the call.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn set_receive_low_water(fd: RawFd, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a pointer to a live c_int; an
    // fd that is not an open socket makes it fail with EBADF/ENOTSOCK, nothing worse.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere the mark is left alone: poll/kqueue honour it differently, and untested.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_receive_low_water(_fd: RawFd, _bytes: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_RCVLOWAT is used on Linux only",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::{os::fd::AsRawFd, time::Duration};

    use tokio::{
        io::AsyncWriteExt,
        net::{TcpListener, TcpStream},
        time::timeout,
    };

    use super::set_receive_low_water;

    /// What the linger relies on: below the mark the socket is not reported readable; at the
    /// mark, or once the mark is back at 1, it is.
    #[tokio::test]
    async fn the_socket_is_readable_only_at_the_mark_or_after_a_reset() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = tokio::join!(
            TcpStream::connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        let (client, (mut server, _)) = (client.unwrap(), server.unwrap());
        set_receive_low_water(client.as_raw_fd(), 1000).unwrap();

        server.write_all(&[0; 10]).await.unwrap();
        let early = timeout(Duration::from_millis(200), client.readable()).await;
        assert!(early.is_err(), "10 bytes woke a reader waiting for 1000");

        server.write_all(&[0; 990]).await.unwrap();
        timeout(Duration::from_secs(5), client.readable())
            .await
            .expect("1000 bytes reach the mark")
            .unwrap();

        // Drain, then check that a reset to 1 makes a lone byte visible again.
        let mut buf = [0u8; 2000];
        while client.try_read(&mut buf).is_ok() {}
        set_receive_low_water(client.as_raw_fd(), 5000).unwrap();
        server.write_all(&[0; 1]).await.unwrap();
        assert!(timeout(Duration::from_millis(200), client.readable())
            .await
            .is_err());
        set_receive_low_water(client.as_raw_fd(), 1).unwrap();
        timeout(Duration::from_secs(5), client.readable())
            .await
            .expect("a reset to 1 reports the byte at once")
            .unwrap();
    }
}
