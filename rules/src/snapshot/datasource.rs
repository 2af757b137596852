//! Storage units: a data source's URL parsed into protocol, host, port and
//! database, and its pool settings with their defaults applied.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// The wire protocol a storage unit speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseProtocol {
    MySql,
    PostgreSql,
    OpenGauss,
}

impl DatabaseProtocol {
    pub fn default_port(self) -> u16 {
        match self {
            DatabaseProtocol::MySql => 3306,
            DatabaseProtocol::PostgreSql => 5432,
            DatabaseProtocol::OpenGauss => 5432,
        }
    }
}

/// One storage unit, ready to connect to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    pub name: String,
    pub protocol: DatabaseProtocol,
    pub host: String,
    pub port: u16,
    pub database: String,
    /// Query parameters of the URL (`useSSL=false`, `sslmode=...`).
    pub params: BTreeMap<String, String>,
    pub username: String,
    #[serde(skip)]
    pub password: String,
    #[serde(serialize_with = "millis")]
    pub connection_timeout: Duration,
    #[serde(serialize_with = "millis")]
    pub idle_timeout: Duration,
    #[serde(serialize_with = "millis")]
    pub max_lifetime: Duration,
    pub max_pool_size: u32,
    pub min_pool_size: u32,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

/// The parts of a data source URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    pub protocol: DatabaseProtocol,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: Option<String>,
    pub params: BTreeMap<String, String>,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Not one of the schemes we speak.
    Scheme(String),
    Malformed(String),
    /// A password inside the URL: it would be logged and shown with it.
    Password,
}

/// Parses `jdbc:mysql://h:p/db?x=y`, `jdbc:mariadb://`, `jdbc:postgresql://`,
/// `jdbc:opengauss://`, `mysql://user@h/db`, `postgres://`, `postgresql://`.
pub fn parse_url(url: &str) -> Result<ParsedUrl, UrlError> {
    let url = url.trim();
    let rest = url.strip_prefix("jdbc:").unwrap_or(url);
    let (scheme, rest) = rest
        .split_once("://")
        .ok_or_else(|| UrlError::Malformed("expected `scheme://host:port/database`".into()))?;
    let protocol = match scheme.to_ascii_lowercase().as_str() {
        "mysql" | "mariadb" => DatabaseProtocol::MySql,
        "postgresql" | "postgres" => DatabaseProtocol::PostgreSql,
        "opengauss" | "gaussdb" => DatabaseProtocol::OpenGauss,
        other => return Err(UrlError::Scheme(other.to_owned())),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, database) = match rest.split_once('/') {
        Some((a, d)) => (a, d.to_owned()),
        None => (rest, String::new()),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let username = match userinfo {
        Some(u) if u.contains(':') => return Err(UrlError::Password),
        Some(u) if !u.is_empty() => Some(u.to_owned()),
        _ => None,
    };
    let (host, port) = split_host_port(hostport, protocol.default_port())?;
    let mut params = BTreeMap::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k.eq_ignore_ascii_case("password") {
            return Err(UrlError::Password);
        }
        params.insert(k.to_owned(), v.to_owned());
    }
    Ok(ParsedUrl {
        protocol,
        host,
        port,
        database,
        username,
        params,
    })
}

fn split_host_port(hostport: &str, default_port: u16) -> Result<(String, u16), UrlError> {
    if hostport.is_empty() {
        return Err(UrlError::Malformed("no host".into()));
    }
    // `[::1]:5432`: the port follows the closing bracket.
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| UrlError::Malformed("unclosed `[` in host".into()))?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse()
            .map_err(|_| UrlError::Malformed(format!("port `{p}` is not a number 0-65535")))?,
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jdbc_and_plain_urls() {
        let u = parse_url("jdbc:mysql://127.0.0.1:3307/demo_ds_0?serverTimezone=UTC&useSSL=false")
            .unwrap();
        assert_eq!(u.protocol, DatabaseProtocol::MySql);
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 3307));
        assert_eq!(u.database, "demo_ds_0");
        assert_eq!(u.params.get("useSSL").map(String::as_str), Some("false"));

        let u = parse_url("jdbc:postgresql://db.example/app").unwrap();
        assert_eq!((u.protocol, u.port), (DatabaseProtocol::PostgreSql, 5432));
        let u = parse_url("jdbc:opengauss://[::1]:15432/og").unwrap();
        assert_eq!(
            (u.protocol, u.host.as_str(), u.port),
            (DatabaseProtocol::OpenGauss, "::1", 15432)
        );
        let u = parse_url("postgres://app@10.0.0.1/app").unwrap();
        assert_eq!(u.username.as_deref(), Some("app"));
        let u = parse_url("jdbc:mariadb://h/db").unwrap();
        assert_eq!((u.protocol, u.port), (DatabaseProtocol::MySql, 3306));
    }

    #[test]
    fn refuses_passwords_and_unknown_schemes() {
        assert_eq!(
            parse_url("mysql://root:secret@h/db"),
            Err(UrlError::Password)
        );
        assert_eq!(
            parse_url("jdbc:mysql://h/db?password=x"),
            Err(UrlError::Password)
        );
        assert_eq!(
            parse_url("jdbc:oracle://h/db"),
            Err(UrlError::Scheme("oracle".into()))
        );
        assert!(matches!(
            parse_url("h:3306/db"),
            Err(UrlError::Malformed(_))
        ));
        assert!(matches!(
            parse_url("mysql://h:99999/db"),
            Err(UrlError::Malformed(_))
        ));
    }
}
