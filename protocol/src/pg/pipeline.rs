//! What a server codec can tell from bytes it has read but not yet cut
//! into messages: whether the client pipelined more work.

use super::codec::PgServerCodec;

impl PgServerCodec {
    /// Whether an Execute is queued before the next Sync in `buf` (the
    /// typed messages read but not yet decoded): a pipelined batch, which
    /// PostgreSQL runs as one transaction. Only what is in `buf` counts, so
    /// a batch arriving in pieces may be missed; a message cut short at
    /// the end of `buf` counts as an Execute, the safe side (a batch is
    /// then kept in one transaction). Lengths are not checked here: the
    /// decoder refuses bad ones when it reaches them.
    pub fn execute_before_sync(&self, buf: &[u8]) -> bool {
        let mut i = 0;
        while i < buf.len() {
            match buf[i] {
                b'E' => return true,
                b'S' => return false,
                _ => {}
            }
            let Some(len) = buf.get(i + 1..i + 5) else {
                return true;
            };
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            i = i.saturating_add(1).saturating_add(len.max(4));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::PgServerCodec;

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn an_execute_before_the_sync_is_a_batch() {
        let codec = PgServerCodec::new();
        let bind = message(b'B', b"\0\0\0\0\0\0\0");
        let execute = message(b'E', b"\0\0\0\0\0");
        let sync = message(b'S', b"");
        let batch = [bind.clone(), execute.clone(), sync.clone()].concat();
        assert!(codec.execute_before_sync(&batch));
        let alone = [sync.clone(), bind.clone(), execute.clone()].concat();
        assert!(!codec.execute_before_sync(&alone), "the Sync comes first");
        assert!(!codec.execute_before_sync(&[]));
        assert!(!codec.execute_before_sync(&[bind.clone(), sync].concat()));
        // A message cut short: assume a batch.
        assert!(codec.execute_before_sync(&bind[..3]));
        // A hostile length neither panics nor loops.
        let huge = [b'P', 0xff, 0xff, 0xff, 0xff, b'E'];
        assert!(!codec.execute_before_sync(&huge));
    }
}
