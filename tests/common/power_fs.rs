//! A FUSE file system that loses power: it keeps every file in memory twice, as written and
//! as last synced, and a "power cut" throws away everything not synced, as a disk's volatile
//! cache does (issue 13). The power-cut tests (`tests/store/power_cut.rs`) and the mid-session
//! fault tests of `tests/store/faults.rs` mount it with the `fuser` crate (through Debian's
//! `fusermount3`, as root). It can also refuse every change with an error of the test's
//! choosing (`EROFS`, `EACCES`, `EPERM`), as a file system turned read-only or a file whose
//! write permission was taken away.
//!
//! ```text
//! write, truncate            change the file's data, not its synced data
//! fsync / fdatasync (file)   the file's data becomes its synced data (not its name)
//! create, unlink, rename     change the directory, not its synced entries
//! fsync (directory)          the directory's entries become its synced entries
//! cut                        every file back to its synced data, the directory to its synced
//!                            entries; files no synced entry names are gone
//! cut, partial writes on     the same, then each file keeps a random prefix of its unsynced
//!                            writes in order, the last one possibly torn at a 512-byte
//!                            sector, and the directory a random prefix of its changes, as a
//!                            disk that had flushed part of its cache
//! ```
//!
//! A cut is armed to happen at the n-th change (write, truncate, create, unlink, rename or
//! sync): that operation fails with `EIO`, and so does every later one, as on a machine
//! without power, until [`PowerFs::power_on`]. The file system is one directory (the
//! mount's root), which is all a store file needs. Not a passthrough to another file system:
//! what it holds is exactly what survives, which is the point.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

/// No caching in the kernel: every lookup and attribute read comes to us.
const TTL: Duration = Duration::ZERO;

/// The state behind a mount, shared with the test that drives it.
#[derive(Default)]
struct Disk {
    files: HashMap<u64, File>,
    /// The root directory: name → inode, as written and as synced.
    entries: BTreeMap<OsString, u64>,
    synced_entries: BTreeMap<OsString, u64>,
    next_ino: u64,
    /// Changes counted since power-on (what a cut is armed against).
    changes: u64,
    /// Every sync (file or directory) since power-on.
    syncs: u64,
    cut_at: Option<u64>,
    powered_off: bool,
    /// The error every change fails with, while set.
    refusal: Option<Errno>,
    /// The directory's changes since its last sync, in order, each all or nothing (a
    /// rename is two).
    pending_entries: Vec<Vec<(OsString, Option<u64>)>>,
    /// Whether a cut keeps part of what was not synced, drawn from this generator.
    partial: Option<rand_chacha::ChaCha8Rng>,
}

struct File {
    data: Vec<u8>,
    synced: Vec<u8>,
    /// The writes and truncations since the last sync, in order.
    pending: Vec<Change>,
    mode: u16,
    mtime: SystemTime,
}

/// A change of a file's data not yet synced.
enum Change {
    Write { offset: usize, data: Vec<u8> },
    Truncate(usize),
}

impl Change {
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            Change::Write {
                offset,
                data: bytes,
            } => {
                if data.len() < offset + bytes.len() {
                    data.resize(offset + bytes.len(), 0);
                }
                data[*offset..offset + bytes.len()].copy_from_slice(bytes);
            }
            Change::Truncate(size) => data.resize(*size, 0),
        }
    }
}

/// A handle on the file system, kept by the test: mount it, arm a cut, power it back on.
#[derive(Clone)]
pub struct PowerFs {
    disk: Arc<Mutex<Disk>>,
}

/// A mounted [`PowerFs`]; unmounted when dropped.
pub struct Mounted {
    session: Option<fuser::BackgroundSession>,
    dir: PathBuf,
}

impl Mounted {
    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(session) = self.session.take()
            && session.umount_and_join().is_err()
        {
            // Busy: for a moment when a process that another test forks holds copies of our
            // descriptors (between fork and exec), for good when a test failed with a file
            // open on it. Retry, then detach it lazily: no mount is left behind (mounts
            // stacked on one folder were, before this).
            let umount = |lazy: bool| {
                std::process::Command::new("umount")
                    .args(lazy.then_some("-l"))
                    .arg(&self.dir)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let unmounted = (0..100).any(|_| {
                umount(false) || {
                    std::thread::sleep(Duration::from_millis(10));
                    false
                }
            });
            if !unmounted {
                umount(true);
            }
        }
    }
}

/// Why this machine cannot run a FUSE test, if it cannot: the tests say so loudly.
pub fn unavailable() -> Option<String> {
    if !Path::new("/dev/fuse").exists() {
        return Some("/dev/fuse is missing (load the `fuse` kernel module)".into());
    }
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join("fusermount3").is_file())
    });
    if !found {
        return Some("fusermount3 is missing (apt-get install fuse3)".into());
    }
    None
}

impl PowerFs {
    /// An empty file system.
    pub fn new() -> Self {
        let disk = Disk {
            next_ino: 2,
            ..Disk::default()
        };
        Self {
            disk: Arc::new(Mutex::new(disk)),
        }
    }

    /// Makes every later cut keep part of what was not synced (`Some(seed)`: see the module
    /// docs), or nothing of it (`None`, the default).
    pub fn partial_writes(&self, seed: Option<u64>) {
        use rand::SeedableRng;
        self.lock().partial = seed.map(rand_chacha::ChaCha8Rng::seed_from_u64);
    }

    /// Mounts it on `dir` (an empty directory).
    pub fn mount(&self, dir: &Path) -> std::io::Result<Mounted> {
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("keymanager-powerfs".into()),
            fuser::MountOption::NoAtime,
        ];
        let session = fuser::spawn_mount(
            Mount {
                disk: Arc::clone(&self.disk),
            },
            dir,
            &config,
        )?;
        Ok(Mounted {
            session: Some(session),
            dir: dir.to_path_buf(),
        })
    }

    /// Arms a power cut at the `n`-th change from now (`n >= 1`).
    pub fn cut_after(&self, n: u64) {
        let mut disk = self.lock();
        disk.cut_at = Some(disk.changes + n);
    }

    /// Cuts the power now, if the armed cut has not happened yet.
    pub fn cut_now(&self) {
        self.lock().cut();
    }

    /// Whether the armed cut has happened.
    pub fn is_off(&self) -> bool {
        self.lock().powered_off
    }

    /// Powers on again (after a cut): the files are what was synced before it.
    pub fn power_on(&self) {
        let mut disk = self.lock();
        disk.powered_off = false;
        disk.cut_at = None;
    }

    /// Makes every change, and every open for writing, fail with `errno` (`Some`), or work
    /// again (`None`): `EROFS` as a file system remounted read-only under a running program,
    /// `EACCES` or `EPERM` as a file whose write permission was taken away (which a file
    /// system that checks each write, NFS or FUSE, reports at the next write; a local one only
    /// at the next open).
    pub fn refuse_changes(&self, errno: Option<Errno>) {
        self.lock().refusal = errno;
    }

    /// Changes and syncs counted so far.
    pub fn counts(&self) -> (u64, u64) {
        let disk = self.lock();
        (disk.changes, disk.syncs)
    }

    /// The names and contents of the files, as written now.
    pub fn files(&self) -> BTreeMap<OsString, Vec<u8>> {
        let disk = self.lock();
        disk.entries
            .iter()
            .map(|(name, ino)| (name.clone(), disk.files[ino].data.clone()))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Disk {
    /// Counts a change; `Err` if the power is off or goes off now.
    fn change(&mut self) -> Result<(), Errno> {
        if self.powered_off {
            return Err(Errno::EIO);
        }
        if let Some(errno) = self.refusal {
            return Err(errno);
        }
        self.changes += 1;
        if self.cut_at.is_some_and(|at| self.changes >= at) {
            self.cut();
            return Err(Errno::EIO);
        }
        Ok(())
    }

    fn alive(&self) -> Result<(), Errno> {
        if self.powered_off {
            Err(Errno::EIO)
        } else {
            Ok(())
        }
    }

    /// What survives a power cut: the synced data and entries (and, with partial writes,
    /// a prefix of what followed).
    fn cut(&mut self) {
        use rand::RngExt;
        self.powered_off = true;
        let mut partial = self.partial.take();
        let mut keep = |n: usize| partial.as_mut().map_or(0, |rng| rng.random_range(0..=n));
        let mut entries = self.synced_entries.clone();
        let kept = keep(self.pending_entries.len());
        for (name, ino) in self.pending_entries.drain(..).take(kept).flatten() {
            match ino {
                Some(ino) => entries.insert(name, ino),
                None => entries.remove(&name),
            };
        }
        self.entries = entries.clone();
        self.synced_entries = entries;
        let live: std::collections::HashSet<u64> = self.entries.values().copied().collect();
        self.files.retain(|ino, _| live.contains(ino));
        let mut inos: Vec<u64> = self.files.keys().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let file = self.files.get_mut(&ino).expect("listed");
            let mut data = std::mem::take(&mut file.synced);
            let kept = keep(file.pending.len());
            for change in &file.pending[..kept] {
                change.apply(&mut data);
            }
            // The next write, torn at a sector boundary.
            if let Some(Change::Write {
                offset,
                data: bytes,
            }) = file.pending.get(kept)
            {
                let sectors = keep(bytes.len() / 512);
                Change::Write {
                    offset: *offset,
                    data: bytes[..sectors * 512].to_vec(),
                }
                .apply(&mut data);
            }
            file.pending.clear();
            file.synced = data.clone();
            file.data = data;
        }
        self.partial = partial;
    }

    /// Records a change of the directory: names given an inode or removed (`None`), at once.
    fn rename(&mut self, changes: &[(&OsStr, Option<u64>)]) {
        for (name, ino) in changes {
            match ino {
                Some(ino) => self.entries.insert(name.to_os_string(), *ino),
                None => self.entries.remove(*name),
            };
        }
        self.pending_entries.push(
            changes
                .iter()
                .map(|(name, ino)| (name.to_os_string(), *ino))
                .collect(),
        );
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let (kind, size, mode, mtime) = if ino == INodeNo::ROOT.0 {
            (FileType::Directory, 0, 0o755, SystemTime::UNIX_EPOCH)
        } else {
            let f = self.files.get(&ino)?;
            (FileType::RegularFile, f.data.len() as u64, f.mode, f.mtime)
        };
        let (uid, gid) = owner_ids();
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: mtime,
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind,
            perm: mode,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid,
            gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }
}

/// The owner of every file: the test process's user (the store refuses companion files owned
/// by another user than the store file).
fn owner_ids() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    // The process's own /proc entry is owned by its (effective) user and group.
    std::fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((0, 0))
}

/// What `fuser` runs: requests on one mount.
struct Mount {
    disk: Arc<Mutex<Disk>>,
}

impl Mount {
    fn lock(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A sync (of a file or the directory): a change, counted, then `make_durable`.
    fn sync(&self, reply: ReplyEmpty, make_durable: impl FnOnce(&mut Disk) -> Result<(), Errno>) {
        let mut disk = self.lock();
        let result = disk.change().and_then(|()| {
            disk.syncs += 1;
            make_durable(&mut disk)
        });
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}

impl Filesystem for Mount {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let disk = self.lock();
        if let Err(e) = disk.alive() {
            return reply.error(e);
        }
        if parent != INodeNo::ROOT {
            return reply.error(Errno::ENOENT);
        }
        match disk.entries.get(name).and_then(|ino| disk.attr(*ino)) {
            Some(attr) => reply.entry(&TTL, &attr, Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let disk = self.lock();
        if let Err(e) = disk.alive() {
            return reply.error(e);
        }
        match disk.attr(ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut disk = self.lock();
        if let Err(e) = disk.alive() {
            return reply.error(e);
        }
        if (mode.is_some() || size.is_some())
            && let Err(e) = disk.change()
        {
            return reply.error(e);
        }
        if let Some(file) = disk.files.get_mut(&ino.0) {
            if let Some(mode) = mode {
                file.mode = (mode & 0o7777) as u16;
            }
            if let Some(size) = size {
                let change = Change::Truncate(size as usize);
                change.apply(&mut file.data);
                file.pending.push(change);
                file.mtime = SystemTime::now();
            }
        }
        match disk.attr(ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let disk = self.lock();
        if let Err(e) = disk.alive() {
            return reply.error(e);
        }
        if let Some(errno) = disk.refusal
            && flags.acc_mode() != fuser::OpenAccMode::O_RDONLY
        {
            return reply.error(errno);
        }
        if disk.files.contains_key(&ino.0) {
            reply.opened(FileHandle(0), FopenFlags::empty());
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut disk = self.lock();
        if parent != INodeNo::ROOT {
            return reply.error(Errno::ENOENT);
        }
        if let Err(e) = disk.change() {
            return reply.error(e);
        }
        let ino = match disk.entries.get(name) {
            Some(ino) => *ino,
            None => {
                let ino = disk.next_ino;
                disk.next_ino += 1;
                disk.files.insert(
                    ino,
                    File {
                        data: Vec::new(),
                        synced: Vec::new(),
                        pending: Vec::new(),
                        mode: (mode & !umask & 0o7777) as u16,
                        mtime: SystemTime::now(),
                    },
                );
                disk.rename(&[(name, Some(ino))]);
                ino
            }
        };
        let attr = disk.attr(ino).expect("just created");
        reply.created(
            &TTL,
            &attr,
            Generation(0),
            FileHandle(0),
            FopenFlags::empty(),
        );
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let disk = self.lock();
        if let Err(e) = disk.alive() {
            return reply.error(e);
        }
        let Some(file) = disk.files.get(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let start = (offset as usize).min(file.data.len());
        let end = start.saturating_add(size as usize).min(file.data.len());
        reply.data(&file.data[start..end]);
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut disk = self.lock();
        if let Err(e) = disk.change() {
            return reply.error(e);
        }
        let Some(file) = disk.files.get_mut(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let change = Change::Write {
            offset: offset as usize,
            data: data.to_vec(),
        };
        change.apply(&mut file.data);
        file.pending.push(change);
        file.mtime = SystemTime::now();
        reply.written(data.len() as u32);
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() is not a sync.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.sync(reply, |disk| {
            let file = disk.files.get_mut(&ino.0).ok_or(Errno::ENOENT)?;
            file.synced = file.data.clone();
            file.pending.clear();
            Ok(())
        });
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.sync(reply, |disk| {
            disk.synced_entries = disk.entries.clone();
            disk.pending_entries.clear();
            Ok(())
        });
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut disk = self.lock();
        if parent != INodeNo::ROOT {
            return reply.error(Errno::ENOENT);
        }
        if let Err(e) = disk.change() {
            return reply.error(e);
        }
        if disk.entries.contains_key(name) {
            // The inode stays while a synced entry (or an open handle) may need it.
            disk.rename(&[(name, None)]);
            reply.ok();
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut disk = self.lock();
        if parent != INodeNo::ROOT || newparent != INodeNo::ROOT {
            return reply.error(Errno::ENOENT);
        }
        if let Err(e) = disk.change() {
            return reply.error(e);
        }
        match disk.entries.get(name).copied() {
            Some(ino) => {
                disk.rename(&[(name, None), (newname, Some(ino))]);
                reply.ok();
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let disk = self.lock();
        if let Err(e) = disk.alive() {
            return reply.error(e);
        }
        if ino != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let mut all = vec![
            (INodeNo::ROOT.0, FileType::Directory, OsString::from(".")),
            (INodeNo::ROOT.0, FileType::Directory, OsString::from("..")),
        ];
        all.extend(
            disk.entries
                .iter()
                .map(|(name, ino)| (*ino, FileType::RegularFile, name.clone())),
        );
        for (i, (ino, kind, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }
}
