//! Splitting PostgreSQL streams into messages. The client's first packets
//! have no type byte (SSLRequest, GSSENCRequest, CancelRequest, then the
//! StartupMessage); each encryption request gets one unframed byte back.

use bytes::Bytes;
use shardwire_protocol::pg::{
    CANCEL_REQUEST_CODE, DEFAULT_MAX_MESSAGE_LEN, GSSENC_REQUEST_CODE, MAX_STARTUP_PACKET_LEN,
    SSL_REQUEST_CODE,
};

use crate::error::{ConformanceError, Result};
use crate::frame::{Frame, Leftover};

/// How the client opened the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgOpening {
    /// SSLRequest / GSSENCRequest packets before the startup packet.
    pub encryption_requests: usize,
    /// The connection only carried a CancelRequest.
    pub cancel: bool,
    /// Index in the frame list of the StartupMessage.
    pub startup: Option<usize>,
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn too_big(len: usize) -> ConformanceError {
    ConformanceError::unusable(format!(
        "a PostgreSQL message claims {len} bytes, more than the {DEFAULT_MAX_MESSAGE_LEN} allowed"
    ))
}

/// Splits the client's stream.
pub fn split_client(bytes: &Bytes) -> Result<(Vec<Frame>, PgOpening, Leftover)> {
    let mut frames = Vec::new();
    let mut opening = PgOpening::default();
    let mut pos = 0usize;
    // Untyped packets until the StartupMessage.
    while opening.startup.is_none() && !opening.cancel {
        let (Some(len), Some(code)) = (be_u32(bytes, pos), be_u32(bytes, pos + 4)) else {
            return Ok((frames, opening, leftover(bytes, pos)));
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if !(8..=MAX_STARTUP_PACKET_LEN).contains(&len) {
            return Err(ConformanceError::unusable(format!(
                "a PostgreSQL startup packet of {len} bytes"
            )));
        }
        let Some(raw) = bytes.get(pos..pos + len) else {
            return Ok((frames, opening, leftover(bytes, pos)));
        };
        match code {
            SSL_REQUEST_CODE | GSSENC_REQUEST_CODE => opening.encryption_requests += 1,
            CANCEL_REQUEST_CODE => opening.cancel = true,
            _ => opening.startup = Some(frames.len()),
        }
        frames.push(Frame {
            start: pos,
            end: pos + len,
            raw: bytes.slice(pos..pos + len),
            tag: None,
            seq: 0,
            payload: Bytes::copy_from_slice(raw.get(4..).unwrap_or_default()),
        });
        pos += len;
    }
    if opening.cancel {
        return Ok((frames, opening, Leftover::default()));
    }
    let end = split_typed(bytes, pos, &mut frames)?;
    Ok((frames, opening, leftover(bytes, end)))
}

/// Splits the server's stream; `encryption_requests` one-byte answers come
/// first. An accepted request ('S' / 'G') means the rest is encrypted.
pub fn split_server(bytes: &Bytes, encryption_requests: usize) -> Result<(Vec<Frame>, Leftover)> {
    let mut frames = Vec::new();
    for pos in 0..encryption_requests {
        let Some(&b) = bytes.get(pos) else {
            return Ok((frames, leftover(bytes, pos)));
        };
        match b {
            b'N' => frames.push(Frame {
                start: pos,
                end: pos + 1,
                raw: bytes.slice(pos..pos + 1),
                tag: None,
                seq: 0,
                payload: Bytes::new(),
            }),
            b'S' | b'G' => {
                return Err(ConformanceError::unusable(
                    "the PostgreSQL session is encrypted (SSL/GSS accepted); record it \
                     with sslmode=disable or through `shardctl record`",
                ))
            }
            // An old server answers with an ErrorResponse: typed from here.
            _ => {
                let end = split_typed(bytes, pos, &mut frames)?;
                return Ok((frames, leftover(bytes, end)));
            }
        }
    }
    let end = split_typed(bytes, encryption_requests, &mut frames)?;
    Ok((frames, leftover(bytes, end)))
}

fn leftover(bytes: &Bytes, pos: usize) -> Leftover {
    Leftover {
        partial_bytes: bytes.len().saturating_sub(pos),
    }
}

/// Typed messages from `pos`; returns where the last whole one ends.
fn split_typed(bytes: &Bytes, mut pos: usize, frames: &mut Vec<Frame>) -> Result<usize> {
    loop {
        let (Some(&tag), Some(len)) = (bytes.get(pos), be_u32(bytes, pos + 1)) else {
            return Ok(pos);
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len < 4 {
            return Err(ConformanceError::unusable(format!(
                "a PostgreSQL message ({:?}) with length {len}",
                char::from(tag)
            )));
        }
        if len > DEFAULT_MAX_MESSAGE_LEN {
            return Err(too_big(len));
        }
        let end = pos + 1 + len;
        if end > bytes.len() {
            return Ok(pos);
        }
        frames.push(Frame {
            start: pos,
            end,
            raw: bytes.slice(pos..end),
            tag: Some(tag),
            seq: 0,
            payload: bytes.slice(pos + 5..end),
        });
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup() -> Vec<u8> {
        let body = b"\0\x03\0\0user\0u\0\0";
        let mut v = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn ssl_request_then_startup_then_typed_messages() {
        let mut c = vec![0, 0, 0, 8];
        c.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
        c.extend_from_slice(&startup());
        c.extend_from_slice(b"Q\0\0\0\x0dselect 1\0X\0\0\0\x04");
        c.extend_from_slice(b"Q\0\0"); // cut mid-header
        let (frames, opening, left) = split_client(&Bytes::from(c)).expect("splits");
        assert_eq!(opening.encryption_requests, 1);
        assert_eq!(opening.startup, Some(1));
        let tags: Vec<_> = frames.iter().map(|f| f.tag).collect();
        assert_eq!(tags, vec![None, None, Some(b'Q'), Some(b'X')]);
        assert_eq!(&frames[2].payload[..], b"select 1\0");
        assert_eq!(left.partial_bytes, 3);
    }

    #[test]
    fn server_answers_n_then_typed() {
        let s = Bytes::from_static(b"NR\0\0\0\x08\0\0\0\0Z\0\0\0\x05I");
        let (frames, left) = split_server(&s, 1).expect("splits");
        let tags: Vec<_> = frames.iter().map(|f| f.tag).collect();
        assert_eq!(tags, vec![None, Some(b'R'), Some(b'Z')]);
        assert_eq!(left.partial_bytes, 0);
    }

    #[test]
    fn accepted_ssl_is_unusable() {
        assert!(split_server(&Bytes::from_static(b"S\x16\x03"), 1).is_err());
    }

    #[test]
    fn cancel_request_ends_the_split() {
        let mut c = vec![0, 0, 0, 16];
        c.extend_from_slice(&CANCEL_REQUEST_CODE.to_be_bytes());
        c.extend_from_slice(&[0; 8]);
        let (frames, opening, _) = split_client(&Bytes::from(c)).expect("splits");
        assert!(opening.cancel);
        assert_eq!(frames.len(), 1);
    }
}
