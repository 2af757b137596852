//! Framing COPY data into rows, and reading one field of a row.
//!
//! The client's CopyData messages cut the data anywhere (psql sends a
//! line each, drivers 64 KB blocks), so a [`RowSplitter`] keeps the
//! unfinished tail and hands out whole rows, byte for byte as they came:
//! each goes to one shard unchanged. Only the sharding column's field is
//! decoded. Scanning resumes where it stopped, so a long row sent in many
//! pieces is scanned once.

use bytes::{Buf, Bytes, BytesMut};

use crate::lexer::unescape_one;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    Text,
    Csv,
    Binary,
}

/// How rows and fields are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFormat {
    pub kind: FormatKind,
    pub delimiter: u8,
    /// The NULL marker, compared with a field as written.
    pub null: Vec<u8>,
    /// CSV only.
    pub quote: u8,
    /// CSV only.
    pub escape: u8,
    /// The first line names the columns (text and CSV).
    pub header: bool,
}

impl CopyFormat {
    pub fn default_for(kind: FormatKind) -> Self {
        let (delimiter, null) = match kind {
            FormatKind::Csv => (b',', Vec::new()),
            _ => (b'\t', b"\\N".to_vec()),
        };
        CopyFormat {
            kind,
            delimiter,
            null,
            quote: b'"',
            escape: b'"',
            header: false,
        }
    }
}

/// The binary format's fixed signature, flags and header extension length.
pub const BINARY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// The binary format's trailer: a tuple with -1 fields.
pub const BINARY_TRAILER: &[u8; 2] = &[0xff, 0xff];

/// What the splitter found in the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Data every shard must see first: the header line, or the binary
    /// header.
    Header(Bytes),
    /// One row as sent, line end included; `line` counts from 1 as
    /// PostgreSQL's error context does (the header line counts).
    Row { data: Bytes, line: u64 },
    /// The end-of-data marker (`\.`, or the binary trailer): whatever
    /// follows is ignored, as the server ignores it.
    End,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SplitError {
    #[error("COPY row at line {line} is longer than {limit} bytes")]
    RowTooLong { line: u64, limit: usize },
    #[error("COPY file signature not recognized")]
    BadSignature,
    #[error("invalid COPY binary data at row {line}: {what}")]
    BadBinary { line: u64, what: &'static str },
    #[error("unterminated CSV quoted field at line {line}")]
    UnterminatedQuote { line: u64 },
}

/// Turns the client's CopyData into [`Piece`]s.
#[derive(Debug)]
pub struct RowSplitter {
    format: CopyFormat,
    buf: BytesMut,
    /// Where scanning for the end of the current row resumes.
    scanned: usize,
    in_quotes: bool,
    header_pending: bool,
    ended: bool,
    line: u64,
    max_row: usize,
}

impl RowSplitter {
    /// `max_row`: the longest row accepted, so a client that never ends a
    /// line cannot grow the buffer without bound.
    pub fn new(format: CopyFormat, max_row: usize) -> Self {
        let header_pending = format.header || format.kind == FormatKind::Binary;
        RowSplitter {
            format,
            buf: BytesMut::new(),
            scanned: 0,
            in_quotes: false,
            header_pending,
            ended: false,
            line: 0,
            max_row,
        }
    }

    pub fn format(&self) -> &CopyFormat {
        &self.format
    }

    pub fn push(&mut self, data: &[u8]) {
        if !self.ended {
            self.buf.extend_from_slice(data);
        }
    }

    /// The next whole piece in what was pushed; `None` until more comes.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, SplitError> {
        if self.ended {
            return Ok(None);
        }
        let piece = match self.format.kind {
            FormatKind::Binary => self.next_binary()?,
            _ => self.next_line()?,
        };
        if piece.is_none() && self.buf.len() > self.max_row {
            return Err(SplitError::RowTooLong {
                line: self.line + 1,
                limit: self.max_row,
            });
        }
        Ok(piece)
    }

    /// At CopyDone: a last line without its line end is still a row.
    pub fn finish(&mut self) -> Result<Option<Piece>, SplitError> {
        if self.ended || self.buf.is_empty() {
            return Ok(None);
        }
        match self.format.kind {
            FormatKind::Binary => Err(SplitError::BadBinary {
                line: self.line + 1,
                what: "the data ends inside a row",
            }),
            _ if self.in_quotes => Err(SplitError::UnterminatedQuote {
                line: self.line + 1,
            }),
            _ => {
                let mut data = self.buf.split().freeze().to_vec();
                data.push(b'\n');
                Ok(Some(self.line_piece(Bytes::from(data))))
            }
        }
    }

    fn next_line(&mut self) -> Result<Option<Piece>, SplitError> {
        let Some(end) = self.find_line_end() else {
            return Ok(None);
        };
        let data = self.buf.split_to(end).freeze();
        self.scanned = 0;
        Ok(Some(self.line_piece(data)))
    }

    fn line_piece(&mut self, data: Bytes) -> Piece {
        self.line += 1;
        if self.header_pending {
            self.header_pending = false;
            return Piece::Header(data);
        }
        if trim_line_end(&data) == b"\\." {
            self.ended = true;
            self.buf.clear();
            return Piece::End;
        }
        Piece::Row {
            data,
            line: self.line,
        }
    }

    /// One past the `\n` ending the current row, if it has arrived. In
    /// text format a backslash takes the next byte with it (`\` + newline
    /// is a newline in the data); in CSV a line end inside quotes is data.
    fn find_line_end(&mut self) -> Option<usize> {
        let bytes = &self.buf[..];
        let mut i = self.scanned;
        match self.format.kind {
            FormatKind::Text => {
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if i + 1 < bytes.len() => i += 2,
                        // The backslash's partner has not arrived yet.
                        b'\\' => break,
                        b'\n' => return Some(i + 1),
                        _ => i += 1,
                    }
                }
            }
            _ => {
                let (quote, escape) = (self.format.quote, self.format.escape);
                while i < bytes.len() {
                    let b = bytes[i];
                    if self.in_quotes && escape != quote && b == escape {
                        if i + 1 >= bytes.len() {
                            break;
                        }
                        i += 2;
                        continue;
                    }
                    if b == quote {
                        self.in_quotes = !self.in_quotes;
                    } else if b == b'\n' && !self.in_quotes {
                        return Some(i + 1);
                    }
                    i += 1;
                }
            }
        }
        self.scanned = i;
        None
    }

    fn next_binary(&mut self) -> Result<Option<Piece>, SplitError> {
        let line = self.line + 1;
        let bad = |what| SplitError::BadBinary { line, what };
        if self.header_pending {
            if self.buf.len() < BINARY_SIGNATURE.len() + 8 {
                return Ok(None);
            }
            if !self.buf.starts_with(BINARY_SIGNATURE) {
                return Err(SplitError::BadSignature);
            }
            let at = BINARY_SIGNATURE.len() + 4;
            let ext = be_u32(&self.buf[at..at + 4]) as usize;
            let len = at + 4 + ext;
            if self.buf.len() < len {
                return Ok(None);
            }
            self.header_pending = false;
            return Ok(Some(Piece::Header(self.buf.split_to(len).freeze())));
        }
        let Some(len) = binary_tuple_len(&self.buf).map_err(bad)? else {
            return Ok(None);
        };
        if len == BINARY_TRAILER.len() && self.buf.starts_with(BINARY_TRAILER) {
            self.ended = true;
            self.buf.clear();
            return Ok(Some(Piece::End));
        }
        self.line += 1;
        Ok(Some(Piece::Row {
            data: self.buf.split_to(len).freeze(),
            line: self.line,
        }))
    }
}

/// The length of the binary tuple at the start of `buf`, once it has all
/// arrived.
fn binary_tuple_len(buf: &[u8]) -> Result<Option<usize>, &'static str> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let count = i16::from_be_bytes([buf[0], buf[1]]);
    if count == -1 {
        return Ok(Some(2));
    }
    if count < 0 {
        return Err("a negative field count");
    }
    let mut at = 2usize;
    for _ in 0..count {
        let Some(len) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        match len {
            -1 => {}
            n if n < 0 => return Err("a negative field length"),
            n => at += n as usize,
        }
        if at > buf.len() {
            return Ok(None);
        }
    }
    Ok(Some(at))
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A field of a row: its bytes decoded (escapes and quotes undone), `None`
/// for NULL; an error when the row has fewer fields.
pub fn field(format: &CopyFormat, row: &[u8], index: usize) -> Result<Option<Vec<u8>>, String> {
    match format.kind {
        FormatKind::Binary => binary_field(row, index),
        FormatKind::Text => text_field(format, trim_line_end(row), index),
        FormatKind::Csv => csv_field(format, trim_line_end(row), index),
    }
}

fn missing(index: usize) -> String {
    format!("missing data for column {}", index + 1)
}

fn text_field(format: &CopyFormat, line: &[u8], index: usize) -> Result<Option<Vec<u8>>, String> {
    let mut start = 0;
    let mut n = 0;
    let mut i = 0;
    loop {
        let at_end = i >= line.len();
        if at_end || line[i] == format.delimiter {
            if n == index {
                let raw = &line[start..i.min(line.len())];
                if raw == format.null.as_slice() {
                    return Ok(None);
                }
                return Ok(Some(unescape_text(raw)));
            }
            if at_end {
                return Err(missing(index));
            }
            n += 1;
            start = i + 1;
            i += 1;
        } else if line[i] == b'\\' {
            i += 2;
        } else {
            i += 1;
        }
    }
}

fn unescape_text(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            match unescape_one(&raw[i + 1..]) {
                Some((b, used)) => {
                    out.push(b);
                    i += 1 + used;
                }
                None => i += 1,
            }
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

fn csv_field(format: &CopyFormat, line: &[u8], index: usize) -> Result<Option<Vec<u8>>, String> {
    let (quote, escape) = (format.quote, format.escape);
    let mut n = 0;
    let mut i = 0;
    loop {
        // One field from `i`.
        let start = i;
        let mut value = Vec::new();
        let mut quoted = false;
        let mut in_quotes = false;
        while i < line.len() {
            let b = line[i];
            if in_quotes {
                if b == escape && line.get(i + 1) == Some(&quote) {
                    value.push(quote);
                    i += 2;
                } else if b == escape && escape != quote && line.get(i + 1) == Some(&escape) {
                    value.push(escape);
                    i += 2;
                } else if b == quote {
                    in_quotes = false;
                    i += 1;
                } else {
                    value.push(b);
                    i += 1;
                }
            } else if b == quote {
                in_quotes = true;
                quoted = true;
                i += 1;
            } else if b == format.delimiter {
                break;
            } else {
                value.push(b);
                i += 1;
            }
        }
        if n == index {
            if !quoted && line[start..i] == *format.null.as_slice() {
                return Ok(None);
            }
            return Ok(Some(value));
        }
        if i >= line.len() {
            return Err(missing(index));
        }
        n += 1;
        i += 1;
    }
}

fn binary_field(row: &[u8], index: usize) -> Result<Option<Vec<u8>>, String> {
    let mut buf = row;
    if buf.len() < 2 {
        return Err(missing(index));
    }
    let count = buf.get_i16();
    if index >= usize::try_from(count).unwrap_or(0) {
        return Err(missing(index));
    }
    for i in 0..=index {
        if buf.len() < 4 {
            return Err(missing(index));
        }
        let len = buf.get_i32();
        let take = usize::try_from(len).unwrap_or(0);
        if buf.len() < take {
            return Err(missing(index));
        }
        if i == index {
            return Ok((len >= 0).then(|| buf[..take].to_vec()));
        }
        buf.advance(take);
    }
    Err(missing(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(format: CopyFormat, chunks: &[&[u8]]) -> Vec<Piece> {
        let mut s = RowSplitter::new(format, 1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(p) = s.next_piece().unwrap() {
                out.push(p);
            }
        }
        out.extend(s.finish().unwrap());
        out
    }

    fn row(data: &str, line: u64) -> Piece {
        Piece::Row {
            data: Bytes::from(data.to_owned()),
            line,
        }
    }

    #[test]
    fn text_rows_across_chunks() {
        let f = CopyFormat::default_for(FormatKind::Text);
        let pieces = split_all(f.clone(), &[b"1\ta\n2\tb", b"\\\n", b"c\n3\tlast"]);
        assert_eq!(
            pieces,
            vec![row("1\ta\n", 1), row("2\tb\\\nc\n", 2), row("3\tlast\n", 3)]
        );
        // A backslash at a chunk's end waits for its partner.
        let pieces = split_all(f.clone(), &[b"1\tx\\", b"\n\n2\n"]);
        assert_eq!(pieces, vec![row("1\tx\\\n\n", 1), row("2\n", 2)]);
        // The end marker ends the data.
        let pieces = split_all(f, &[b"1\n\\.\n2\n"]);
        assert_eq!(pieces, vec![row("1\n", 1), Piece::End]);
    }

    #[test]
    fn csv_quotes_hold_line_ends_and_the_header_goes_first() {
        let mut f = CopyFormat::default_for(FormatKind::Csv);
        f.header = true;
        let pieces = split_all(f.clone(), &[b"id,name\n1,\"a\n", b"b\"\n2,\"x\"\"y\"\r\n"]);
        assert_eq!(
            pieces,
            vec![
                Piece::Header(Bytes::from_static(b"id,name\n")),
                row("1,\"a\nb\"\n", 2),
                row("2,\"x\"\"y\"\r\n", 3)
            ]
        );
        assert_eq!(
            field(&f, b"1,\"a\nb\"\n", 1).unwrap(),
            Some(b"a\nb".to_vec())
        );
        assert_eq!(
            field(&f, b"2,\"x\"\"y\"\r\n", 1).unwrap(),
            Some(b"x\"y".to_vec())
        );
        assert_eq!(field(&f, b"3,,\"\"", 1).unwrap(), None);
        assert_eq!(field(&f, b"3,,\"\"", 2).unwrap(), Some(Vec::new()));
        assert!(field(&f, b"3,4", 2).is_err());
        let mut s = RowSplitter::new(f, 100);
        s.push(b"h\n1,\"open");
        while s.next_piece().unwrap().is_some() {}
        assert_eq!(s.finish(), Err(SplitError::UnterminatedQuote { line: 2 }));
    }

    #[test]
    fn text_fields() {
        let f = CopyFormat::default_for(FormatKind::Text);
        assert_eq!(
            field(&f, b"1\t\\N\ta\\tb\n", 0).unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(field(&f, b"1\t\\N\ta\\tb\n", 1).unwrap(), None);
        assert_eq!(
            field(&f, b"1\t\\N\ta\\tb\n", 2).unwrap(),
            Some(b"a\tb".to_vec())
        );
        assert_eq!(field(&f, b"a\\\tb\tc", 1).unwrap(), Some(b"c".to_vec()));
        assert!(field(&f, b"1\t2\n", 2).is_err());
    }

    #[test]
    fn binary_tuples() {
        let f = CopyFormat::default_for(FormatKind::Binary);
        let mut data = BINARY_SIGNATURE.to_vec();
        data.extend([0, 0, 0, 0, 0, 0, 0, 0]);
        let tuple: &[u8] = &[0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff];
        data.extend(tuple);
        data.extend(BINARY_TRAILER);
        let chunks: Vec<&[u8]> = data.chunks(3).collect();
        let pieces = split_all(f.clone(), &chunks);
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert!(matches!(&pieces[0], Piece::Header(h) if h.len() == 19));
        assert_eq!(
            pieces[1],
            Piece::Row {
                data: Bytes::copy_from_slice(tuple),
                line: 1
            }
        );
        assert_eq!(pieces[2], Piece::End);
        assert_eq!(field(&f, tuple, 0).unwrap(), Some(vec![0, 0, 0, 7]));
        assert_eq!(field(&f, tuple, 1).unwrap(), None);
        assert!(field(&f, tuple, 2).is_err());
        let mut s = RowSplitter::new(f, 100);
        s.push(b"PGCOPY\nXXXXXXXXXXXXXXXX");
        assert_eq!(s.next_piece(), Err(SplitError::BadSignature));
    }

    #[test]
    fn a_row_past_the_limit_is_refused() {
        let mut s = RowSplitter::new(CopyFormat::default_for(FormatKind::Text), 8);
        s.push(b"123456789");
        assert_eq!(
            s.next_piece(),
            Err(SplitError::RowTooLong { line: 1, limit: 8 })
        );
        let mut s = RowSplitter::new(CopyFormat::default_for(FormatKind::Text), 8);
        s.push(b"1234567\n");
        assert!(s.next_piece().unwrap().is_some());
    }
}
