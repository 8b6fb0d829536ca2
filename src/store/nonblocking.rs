//! The store's blocking calls as `async fn`s for tokio servers (feature `tokio`): each runs the
//! synchronous call, unchanged, on tokio's blocking pool (`spawn_blocking`), so the runtime's
//! worker threads keep serving other tasks while Argon2, RSA key generation, a wait for the
//! write lock or an fsync runs. What blocks and for how long: the crate documentation's
//! "Blocking and async".
//!
//! They must be called from inside a tokio runtime (they panic otherwise, as
//! `tokio::task::spawn_blocking` does). A panic in the blocking call is resumed in the caller.

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{KeyStore, StoreOptions, Transaction};
use crate::error::{Result, StoreError};
use crate::request::{CertificateRequest, CertificateRequestBuilder};

#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl KeyStore {
    /// [`open_with`](Self::open_with) on the blocking pool (one Argon2id derivation and a
    /// check of the whole state).
    pub async fn open_async(
        path: impl Into<PathBuf>,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        on_file(KeyStore::open_with, path.into(), passphrase, options).await
    }

    /// [`create_with`](Self::create_with) on the blocking pool (one Argon2id derivation).
    pub async fn create_async(
        path: impl Into<PathBuf>,
        passphrase: &str,
        options: &StoreOptions,
    ) -> Result<KeyStore> {
        on_file(KeyStore::create_with, path.into(), passphrase, options).await
    }

    /// [`begin`](Self::begin) on the blocking pool: waits up to the busy timeout for another
    /// writer without holding up the runtime. Do not hold the transaction across other
    /// `.await`s (see [`Transaction`]).
    pub async fn begin_async(&self) -> Result<Transaction> {
        let store = self.clone();
        blocking(move || store.begin()).await
    }

    /// [`begin_timeout`](Self::begin_timeout) on the blocking pool.
    pub async fn begin_timeout_async(&self, timeout: Duration) -> Result<Transaction> {
        let store = self.clone();
        blocking(move || store.begin_timeout(timeout)).await
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl Transaction {
    /// [`commit`](Self::commit) on the blocking pool (an fsync, milliseconds on a disk).
    pub async fn commit_async(self) -> Result<()> {
        blocking(move || self.commit()).await
    }

    /// [`create_pending`](Self::create_pending) on the blocking pool (RSA key generation:
    /// 50 ms at 2048 bits, seconds at 4096, in a release build). The transaction moves in and
    /// comes back with the request; on error it is dropped, which rolls it back.
    pub async fn create_pending_async(
        mut self,
        name: &str,
        request: &CertificateRequestBuilder,
        bits: usize,
    ) -> Result<(Transaction, CertificateRequest)> {
        let (name, request) = (name.to_owned(), request.clone());
        blocking(move || {
            let made = self.create_pending(&name, &request, bits)?;
            Ok((self, made))
        })
        .await
    }
}

/// Runs `open` (`open_with` or `create_with`) on the blocking pool, with owned arguments (the
/// passphrase in a zeroizing copy).
async fn on_file(
    open: fn(PathBuf, &str, &StoreOptions) -> Result<KeyStore>,
    path: PathBuf,
    passphrase: &str,
    options: &StoreOptions,
) -> Result<KeyStore> {
    let (passphrase, options) = (Zeroizing::new(passphrase.to_owned()), options.clone());
    blocking(move || open(path, &passphrase, &options)).await
}

/// Runs `f` on tokio's blocking pool; a panic in it is resumed here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(StoreError::RuntimeShutDown.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistinguishedName;

    /// Every wrapper, on a current-thread runtime.
    #[test]
    // The test holds a transaction across an await on purpose: to be the writer in the way.
    #[allow(clippy::await_holding_invalid_type)]
    fn the_wrappers_run_the_blocking_calls_off_the_runtime_thread() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("keys.db");
            let options = StoreOptions::fast_for_tests();
            let missing = KeyStore::open_async(&path, "pass", &options).await;
            assert!(matches!(
                missing,
                Err(crate::Error::Store(StoreError::Missing { .. }))
            ));
            let store = KeyStore::create_async(&path, "pass", &options)
                .await
                .unwrap();
            let dn: DistinguishedName = "CN=www.example.com".parse().unwrap();
            let builder = CertificateRequest::builder(dn);
            let tx = store.begin_async().await.unwrap();
            let (tx, request) = tx
                .create_pending_async("www", &builder, 2048)
                .await
                .unwrap();
            tx.commit_async().await.unwrap();
            assert!(request.verify().is_ok());
            let reopened = KeyStore::open_async(&path, "pass", &options).await.unwrap();
            assert_eq!(
                reopened.entry("www").unwrap().fingerprint(),
                request.fingerprint()
            );

            // A writer holds the lock: the async begin waits its timeout, then Busy.
            let held = store.try_begin().unwrap();
            let busy = reopened
                .begin_timeout_async(Duration::from_millis(50))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    busy,
                    crate::Error::Store(StoreError::Busy { waited_ms: 50 })
                ),
                "{busy}"
            );
            held.rollback().unwrap();
        });
    }
}
