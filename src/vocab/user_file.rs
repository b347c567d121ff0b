//! Reading a file a user names: rule files and their includes, `file()`
//! secrets, CA certificates, the API token file, import inputs. Every such
//! read goes through [`read`], so every one of them refuses the same things
//! the same way.
//!
//! - Only regular files (after following symlinks) are read. `/dev/zero`
//!   would be read until memory runs out, and a FIFO would block forever.
//!   The type is checked before opening (opening some devices has effects)
//!   and again on the opened file, which is opened with `O_NONBLOCK` so a
//!   FIFO swapped in between the two checks cannot block the open either.
//! - At most `limit` bytes are read, whatever size the file claims (files in
//!   `/proc` claim 0): a file over the limit is refused after `limit + 1`
//!   bytes, not after reading all of it.
//! - A symlink loop is called one, not "no such file or directory".

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The largest rule file klaxon reads (DSL and Prometheus YAML alike, and
/// files given to `klaxon import`).
pub const MAX_RULE_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// The largest secret, token or certificate file klaxon reads: a CA bundle
/// of every public root is about 200 KiB.
pub const MAX_SMALL_FILE_BYTES: u64 = 4 * 1024 * 1024;

const MIB: u64 = 1024 * 1024;

/// Why a file could not be read. Its `Display` says what is wrong without
/// the path, which the caller puts in front in its own words.
#[derive(Debug)]
pub enum ReadError {
    /// The path names something other than a regular file.
    NotRegular(&'static str),
    /// The file holds more than the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The system refused to open or read it.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(what) => write!(f, "not a regular file but {what}"),
            ReadError::TooLarge { limit } if *limit > 0 && limit % MIB == 0 => {
                write!(f, "larger than the limit of {} MiB", limit / MIB)
            }
            ReadError::TooLarge { limit } => write!(f, "larger than the limit of {limit} bytes"),
            ReadError::Io(e) => f.write_str(&describe_io(e)),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads the regular file at `path` (symlinks followed), at most `limit`
/// bytes of it.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let before = std::fs::metadata(path).map_err(ReadError::Io)?;
    check_regular(&before)?;
    if before.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let file = open_without_blocking(path).map_err(ReadError::Io)?;
    // The file opened may not be the one looked at.
    check_regular(&file.metadata().map_err(ReadError::Io)?)?;
    // Room for the size the file claims and the one byte that shows it
    // ends there, so a large file is not copied as the buffer doubles.
    let expected = usize::try_from(before.len()).unwrap_or(0).saturating_add(1);
    read_into(file, limit, Vec::with_capacity(expected))
}

/// Reads at most `limit` bytes from `reader` (standard input, say), and
/// refuses more.
pub fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_into(reader, limit, Vec::new())
}

fn read_into(reader: impl Read, limit: u64, mut bytes: Vec<u8>) -> Result<Vec<u8>, ReadError> {
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// What an I/O error on a path means, in words (a symlink loop is not a
/// missing file).
pub fn describe_io(e: &io::Error) -> String {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return "too many levels of symbolic links: a symlink loop".to_string();
    }
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn check_regular(meta: &Metadata) -> Result<(), ReadError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular(kind_of(meta)))
}

fn kind_of(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Reads of a regular file ignore O_NONBLOCK; only the open of a
        // FIFO (or device) would otherwise wait.
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(path: &Path, limit: u64) -> String {
        match read(path, limit) {
            Ok(bytes) => panic!("{} read: {} bytes", path.display(), bytes.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn regular_files_are_read_whole_up_to_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a");
        std::fs::write(&path, "12345").expect("write");
        assert_eq!(read(&path, 5).expect("read"), b"12345");
        assert_eq!(message(&path, 4), "larger than the limit of 4 bytes");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert_eq!(read(&link, 5).expect("read through a symlink"), b"12345");
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_without_reading() {
        assert_eq!(
            message(Path::new("/dev/zero"), MAX_RULE_FILE_BYTES),
            "not a regular file but a character device"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            message(dir.path(), 10),
            "not a regular file but a directory"
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        assert_eq!(
            message(&fifo, 10),
            "not a regular file but a FIFO (named pipe)"
        );
    }

    #[test]
    fn a_symlink_loop_is_called_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink(&b, &a).expect("symlink");
        std::os::unix::fs::symlink(&a, &b).expect("symlink");
        assert_eq!(
            message(&a, 10),
            "too many levels of symbolic links: a symlink loop"
        );
        assert_eq!(
            message(&dir.path().join("missing"), 10),
            "no such file or directory"
        );
    }

    #[test]
    fn bounded_reads_stop_after_the_limit() {
        let endless = std::io::repeat(b'x');
        assert!(matches!(
            read_bounded(endless, 1024),
            Err(ReadError::TooLarge { limit: 1024 })
        ));
        assert_eq!(read_bounded(&b"abc"[..], 3).expect("fits"), b"abc");
    }
}
