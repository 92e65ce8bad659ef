//! Content-addressed blobs (attachments, raw mail). Small ones live in the database; large ones
//! in append-only pack files beside it (embedded store only), written and fsync'd once per
//! batch *before* the transaction that references them commits. A crash between the two
//! leaves unreferenced bytes in a pack, never a reference to missing bytes.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Blobs up to this size are stored inline in the database.
pub const INLINE_MAX: usize = 64 * 1024;
/// A pack file is closed and a new one started past this size.
const PACK_MAX: u64 = 1 << 30;

/// SHA-256 of `data`, lower-case hex: the blob's address.
pub fn hash(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Where a blob's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// In the `blobs.data` column.
    Inline,
    /// In pack file `pack` at `offset`.
    Pack {
        /// Pack number.
        pack: i64,
        /// Byte offset.
        offset: i64,
    },
}

/// Locations of the large blobs of one batch, already durable in packs.
#[derive(Debug, Default)]
pub struct PreparedBlobs(HashMap<String, BlobLocation>);

impl PreparedBlobs {
    /// Where the blob with `hash` went; `None` means inline.
    pub fn location(&self, hash: &str) -> Option<&BlobLocation> {
        self.0.get(hash)
    }

    /// Records a location.
    pub fn insert(&mut self, hash: String, loc: BlobLocation) {
        self.0.insert(hash, loc);
    }
}

struct PackState {
    id: i64,
    file: File,
    len: u64,
}

/// The append-only pack files of an embedded store.
pub struct Packs {
    dir: PathBuf,
    state: Arc<std::sync::Mutex<Option<PackState>>>,
}

fn pack_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("pack-{id:06}.pack"))
}

impl Packs {
    /// Opens (creating) the pack folder.
    pub fn open(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            state: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// Appends `blobs` and fsyncs once. Returns each one's location, in order.
    pub async fn append(&self, blobs: Vec<Arc<Vec<u8>>>) -> std::io::Result<Vec<BlobLocation>> {
        let dir = self.dir.clone();
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
            let mut locs = Vec::with_capacity(blobs.len());
            for data in &blobs {
                let needs_new = match guard.as_ref() {
                    None => true,
                    Some(s) => s.len > 0 && s.len + data.len() as u64 > PACK_MAX,
                };
                if needs_new {
                    if let Some(old) = guard.take() {
                        old.file.sync_all()?;
                    }
                    *guard = Some(open_latest(&dir, guard.as_ref().map(|s| s.id))?);
                }
                let s = guard
                    .as_mut()
                    .ok_or_else(|| std::io::Error::other("pack not open"))?;
                let offset = s.len;
                if let Err(e) = s.file.write_all(data) {
                    // The file's length is unknown now: reopen (and re-measure) next time.
                    *guard = None;
                    return Err(e);
                }
                s.len += data.len() as u64;
                locs.push(BlobLocation::Pack {
                    pack: s.id,
                    offset: offset as i64,
                });
            }
            if let Some(s) = guard.as_ref() {
                s.file.sync_data()?;
            }
            Ok(locs)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Reads `size` bytes at `offset` of pack `pack`.
    pub async fn read(&self, pack: i64, offset: i64, size: i64) -> std::io::Result<Vec<u8>> {
        let path = pack_path(&self.dir, pack);
        tokio::task::spawn_blocking(move || {
            let mut f = File::open(path)?;
            f.seek(SeekFrom::Start(
                u64::try_from(offset).map_err(std::io::Error::other)?,
            ))?;
            let mut buf = vec![0; usize::try_from(size).map_err(std::io::Error::other)?];
            f.read_exact(&mut buf)?;
            Ok(buf)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// Opens the newest pack for appending, or starts the one after `after`.
fn open_latest(dir: &Path, after: Option<i64>) -> std::io::Result<PackState> {
    let id = match after {
        Some(prev) => prev + 1,
        None => {
            let mut max = 0;
            for entry in std::fs::read_dir(dir)? {
                let name = entry?.file_name();
                let name = name.to_string_lossy();
                if let Some(n) = name
                    .strip_prefix("pack-")
                    .and_then(|r| r.strip_suffix(".pack"))
                    && let Ok(n) = n.parse::<i64>()
                {
                    max = max.max(n);
                }
            }
            max.max(1)
        }
    };
    let path = pack_path(dir, id);
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    let len = file.metadata()?.len();
    if after.is_none() && len >= PACK_MAX {
        return open_latest(dir, Some(id));
    }
    // Make the new file's directory entry durable too.
    if let Ok(d) = File::open(dir) {
        d.sync_all().ok();
    }
    Ok(PackState { id, file, len })
}
