//! Start-up verification without a copy of the state file (issue 22).
//!
//! redb writes to a file as soon as it opens it (a header flag, and a
//! repair when the last process was killed), and klaxon must leave a file
//! it refuses byte for byte as it was. It used to verify a full copy,
//! which needed as much free disk space as the file and, on a full disk,
//! left a partial `klaxon.redb.verify` behind. [`WriteOverlay`] lets redb
//! open the real file instead: reads come from the file, every write stays
//! in memory, and nothing is written to the file or the disk. redb writes
//! little while it opens, repairs and checks a file (headers and allocator
//! state, not the data), so the memory this takes is small; its
//! [`WriteOverlay::overlay_bytes`] is measured by the tests.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// Bytes per overlaid block: redb's page size, so a page write touches one.
const BLOCK: u64 = 4096;

/// A redb storage backend over an existing file that never writes to it:
/// see the module documentation. Locks are the file's own, so a file
/// another process has open is still refused as in use.
#[derive(Debug)]
pub(super) struct WriteOverlay {
    file: FileBackend,
    state: Arc<Mutex<Overlay>>,
}

/// What redb wrote, block by block, over what the file holds.
#[derive(Debug)]
struct Overlay {
    /// The length redb sees.
    len: u64,
    /// Bytes below this come from the file unless overlaid; at and above
    /// it they are zero (the file was shorter, or redb shrank it).
    file_len: u64,
    /// Block index -> the block's contents as redb last wrote it.
    blocks: BTreeMap<u64, Box<[u8]>>,
}

/// How much memory the overlay of a [`WriteOverlay`] holds; readable
/// after redb has taken the backend.
#[derive(Debug, Clone)]
pub(super) struct OverlaySize(Arc<Mutex<Overlay>>);

impl OverlaySize {
    /// Bytes of written blocks held in memory.
    pub(super) fn bytes(&self) -> u64 {
        lock(&self.0).blocks.len() as u64 * BLOCK
    }
}

fn lock(state: &Mutex<Overlay>) -> MutexGuard<'_, Overlay> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WriteOverlay {
    /// Opens `path` for reading and locking (read-write, because redb's
    /// exclusive locks need a descriptor open for writing; nothing is
    /// written through it).
    pub(super) fn open(path: &Path) -> io::Result<(WriteOverlay, OverlaySize)> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        let file = FileBackend::new(file).map_err(io::Error::other)?;
        let state = Arc::new(Mutex::new(Overlay {
            len,
            file_len: len,
            blocks: BTreeMap::new(),
        }));
        let size = OverlaySize(Arc::clone(&state));
        Ok((WriteOverlay { file, state }, size))
    }

    /// The contents of block `index` as it reads now (file or zeros).
    fn base_block(&self, overlay: &Overlay, index: u64) -> io::Result<Box<[u8]>> {
        let mut block = vec![0u8; BLOCK as usize].into_boxed_slice();
        let start = index * BLOCK;
        let from_file = overlay.file_len.saturating_sub(start).min(BLOCK) as usize;
        if from_file > 0 {
            self.file.read(start, &mut block[..from_file])?;
        }
        Ok(block)
    }
}

fn past_end(offset: u64, len: usize, end: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("read of {len} bytes at {offset} past the end ({end})"),
    )
}

impl StorageBackend for WriteOverlay {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(lock(&self.state).len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let overlay = lock(&self.state);
        let end = offset
            .checked_add(out.len() as u64)
            .filter(|end| *end <= overlay.len)
            .ok_or_else(|| past_end(offset, out.len(), overlay.len))?;
        // The file's bytes first, zeros past them, then what was written.
        let from_file = overlay
            .file_len
            .saturating_sub(offset)
            .min(out.len() as u64) as usize;
        if from_file > 0 {
            self.file.read(offset, &mut out[..from_file])?;
        }
        out[from_file..].fill(0);
        let first = offset / BLOCK;
        let last = (end - 1) / BLOCK;
        for (index, block) in overlay.blocks.range(first..=last) {
            let block_start = index * BLOCK;
            let from = offset.max(block_start);
            let to = end.min(block_start + BLOCK);
            out[(from - offset) as usize..(to - offset) as usize].copy_from_slice(
                &block[(from - block_start) as usize..(to - block_start) as usize],
            );
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut overlay = lock(&self.state);
        if len < overlay.len {
            // Bytes past the new end must read as zeros if it grows again.
            overlay.file_len = overlay.file_len.min(len);
            let keep = len.div_ceil(BLOCK);
            overlay.blocks.split_off(&keep);
            let cut = (len % BLOCK) as usize;
            if cut > 0
                && let Some(block) = overlay.blocks.get_mut(&(len / BLOCK))
            {
                block[cut..].fill(0);
            }
        }
        overlay.len = len;
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut overlay = lock(&self.state);
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or_else(|| io::Error::other("write past the largest file offset"))?;
        if data.is_empty() {
            return Ok(());
        }
        overlay.len = overlay.len.max(end);
        for index in offset / BLOCK..=(end - 1) / BLOCK {
            if !overlay.blocks.contains_key(&index) {
                let block = self.base_block(&overlay, index)?;
                overlay.blocks.insert(index, block);
            }
            let block_start = index * BLOCK;
            let from = offset.max(block_start);
            let to = end.min(block_start + BLOCK);
            if let Some(block) = overlay.blocks.get_mut(&index) {
                block[(from - block_start) as usize..(to - block_start) as usize]
                    .copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
            }
        }
        Ok(())
    }

    fn close(&self) -> Result<(), io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}
