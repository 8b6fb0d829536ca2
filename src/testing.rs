//! Test support shared by the unit tests of several modules.

use rand::{TryCryptoRng, TryRng};

/// A random source that serves `budget` bytes, then fails like a broken OS source.
pub(crate) struct FailingRng {
    pub(crate) budget: usize,
}

#[derive(Debug)]
pub(crate) struct EntropyGone;

impl std::fmt::Display for EntropyGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("test entropy source is gone")
    }
}

impl core::error::Error for EntropyGone {}

impl TryRng for FailingRng {
    type Error = EntropyGone;

    fn try_next_u32(&mut self) -> core::result::Result<u32, EntropyGone> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, EntropyGone> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), EntropyGone> {
        self.budget = self.budget.checked_sub(dst.len()).ok_or(EntropyGone)?;
        dst.fill(0x5a);
        Ok(())
    }
}

impl TryCryptoRng for FailingRng {}
