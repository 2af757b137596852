//! AuthenticationRequest ('R'): the server's side of every auth exchange.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{frame, put_cstr, Reader};
use crate::error::Result;

pub const AUTH_OK: i32 = 0;
pub const AUTH_CLEARTEXT: i32 = 3;
pub const AUTH_MD5: i32 = 5;
pub const AUTH_SASL: i32 = 10;
pub const AUTH_SASL_CONTINUE: i32 = 11;
pub const AUTH_SASL_FINAL: i32 = 12;

/// One AuthenticationRequest. Codes this crate does not interpret (Kerberos,
/// GSS, SSPI, and openGauss's SHA256 request, which reuses code 10) stay raw
/// in `Other`, so a dialect module can decode them without touching this enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    Ok,
    CleartextPassword,
    Md5Password { salt: [u8; 4] },
    Sasl { mechanisms: Vec<String> },
    SaslContinue(Bytes),
    SaslFinal(Bytes),
    Other { code: i32, data: Bytes },
}

impl Authentication {
    pub const TAG: u8 = b'R';

    /// `raw_codes` lists codes to keep as `Other` even when this crate knows
    /// them: an openGauss client must read code 10 as SHA256, not SASL.
    pub fn decode(body: Bytes, raw_codes: &[i32]) -> Result<Self> {
        let mut r = Reader::new(Self::TAG, body);
        let code = r.i32("authentication code")?;
        if raw_codes.contains(&code) {
            return Ok(Authentication::Other {
                code,
                data: r.rest(),
            });
        }
        let msg = match code {
            AUTH_OK => Authentication::Ok,
            AUTH_CLEARTEXT => Authentication::CleartextPassword,
            AUTH_MD5 => {
                let s = r.bytes(4, "MD5 salt")?;
                let mut salt = [0u8; 4];
                salt.copy_from_slice(&s);
                Authentication::Md5Password { salt }
            }
            AUTH_SASL => {
                let mut mechanisms = Vec::new();
                loop {
                    let m = r.cstr("SASL mechanism")?;
                    if m.is_empty() {
                        break;
                    }
                    mechanisms.push(m);
                }
                Authentication::Sasl { mechanisms }
            }
            AUTH_SASL_CONTINUE => Authentication::SaslContinue(r.rest()),
            AUTH_SASL_FINAL => Authentication::SaslFinal(r.rest()),
            code => Authentication::Other {
                code,
                data: r.rest(),
            },
        };
        r.finish()?;
        Ok(msg)
    }

    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        frame(dst, Some(Self::TAG), |d| {
            match self {
                Authentication::Ok => d.put_i32(AUTH_OK),
                Authentication::CleartextPassword => d.put_i32(AUTH_CLEARTEXT),
                Authentication::Md5Password { salt } => {
                    d.put_i32(AUTH_MD5);
                    d.put_slice(salt);
                }
                Authentication::Sasl { mechanisms } => {
                    d.put_i32(AUTH_SASL);
                    for m in mechanisms {
                        put_cstr(d, m, "SASL mechanism")?;
                    }
                    d.put_u8(0);
                }
                Authentication::SaslContinue(data) => {
                    d.put_i32(AUTH_SASL_CONTINUE);
                    d.put_slice(data);
                }
                Authentication::SaslFinal(data) => {
                    d.put_i32(AUTH_SASL_FINAL);
                    d.put_slice(data);
                }
                Authentication::Other { code, data } => {
                    d.put_i32(*code);
                    d.put_slice(data);
                }
            }
            Ok(())
        })
    }
}
