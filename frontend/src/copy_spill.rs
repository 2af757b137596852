//! Rows held back for a shard that cannot take them yet, in memory up to
//! a budget and in an unnamed temporary file beyond it.
//!
//! A data source holding two actual tables of one logical table (t_0 and
//! t_1 in ds_0) runs their COPYs one after the other on its connection
//! (inside a transaction it has only one), so the second table's rows must
//! wait for the first table's COPY to end. The client's data cannot be
//! read twice, so they wait here: bounded memory whatever the data's size.

use std::io::SeekFrom;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// How many bytes one [`Held`] keeps in memory before it spills.
pub const MEMORY_BUDGET: usize = 8 * 1024 * 1024;

/// The size of the chunks [`Held::drain`] hands out.
pub const CHUNK: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Held {
    memory: BytesMut,
    file: Option<tokio::fs::File>,
    spilled: u64,
    budget: Option<usize>,
    /// [`Held::next_chunk`] has begun: the file is being read back.
    reading: bool,
}

impl Held {
    /// A store that spills past `budget` bytes.
    #[cfg(test)]
    fn with_budget(budget: usize) -> Held {
        Held {
            budget: Some(budget),
            ..Held::default()
        }
    }

    pub async fn push(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.memory.extend_from_slice(data);
        if self.memory.len() > self.budget.unwrap_or(MEMORY_BUDGET) {
            let file = match &mut self.file {
                Some(f) => f,
                None => self
                    .file
                    .insert(tokio::fs::File::from_std(tempfile::tempfile()?)),
            };
            file.write_all(&self.memory).await?;
            self.spilled += self.memory.len() as u64;
            self.memory.clear();
        }
        Ok(())
    }

    /// The next chunk of what was held, in the order pushed, at most
    /// [`CHUNK`] bytes; `None` when all has been handed out. Nothing may
    /// be pushed once this is called.
    pub async fn next_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        if let Some(file) = &mut self.file {
            if !self.reading {
                self.reading = true;
                file.flush().await?;
                file.seek(SeekFrom::Start(0)).await?;
            }
            if self.spilled > 0 {
                let want = CHUNK.min(usize::try_from(self.spilled).unwrap_or(CHUNK));
                let mut chunk = vec![0u8; want];
                file.read_exact(&mut chunk).await?;
                self.spilled -= want as u64;
                return Ok(Some(Bytes::from(chunk)));
            }
            self.file = None;
        }
        if self.memory.is_empty() {
            return Ok(None);
        }
        let n = CHUNK.min(self.memory.len());
        Ok(Some(self.memory.split_to(n).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spills_past_its_budget_and_drains_in_order() {
        let mut held = Held::with_budget(10);
        let mut want = Vec::new();
        for i in 0..1000u32 {
            let row = format!("{i}\trow\n");
            want.extend_from_slice(row.as_bytes());
            held.push(row.as_bytes()).await.unwrap();
            assert!(held.memory.len() <= 10 + row.len());
        }
        assert!(
            held.spilled > 0,
            "past the budget the rows went to the file"
        );
        assert_eq!(held.spilled + held.memory.len() as u64, want.len() as u64);
        let mut got = Vec::new();
        while let Some(chunk) = held.next_chunk().await.unwrap() {
            assert!(chunk.len() <= CHUNK);
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, want);
        assert_eq!(held.next_chunk().await.unwrap(), None);
    }
}
