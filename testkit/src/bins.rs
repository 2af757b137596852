//! Finding the server and client programs.

use std::path::{Path, PathBuf};

use crate::HarnessError;

/// Debian keeps one directory per major version here.
const PG_VERSIONS_DIR: &str = "/usr/lib/postgresql";

/// The version the project targets; used when several are installed.
const PG_PREFERRED_MAJOR: u32 = 15;

/// Daemons live in sbin, which is not on a non-root user's PATH.
const SBIN_DIRS: [&str; 3] = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

#[derive(Debug, Clone)]
pub(crate) struct PgBins {
    pub(crate) initdb: PathBuf,
    pub(crate) postgres: PathBuf,
    pub(crate) psql: PathBuf,
    pub(crate) pg_isready: PathBuf,
}

#[derive(Debug, Clone)]
pub(crate) struct MariaDbBins {
    pub(crate) install_db: PathBuf,
    pub(crate) server: PathBuf,
    pub(crate) client: PathBuf,
}

/// `SHARDWIRE_PG_BINDIR`, else `/usr/lib/postgresql/15/bin`, else the
/// newest version there, else `PATH`. Clients come from the same directory
/// as the server when they are there, so versions match.
pub(crate) fn pg_bins() -> Result<PgBins, HarnessError> {
    let bindir = match std::env::var_os("SHARDWIRE_PG_BINDIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => debian_pg_bindir(),
    };
    let find = |name: &str, package: &'static str| -> Result<PathBuf, HarnessError> {
        if let Some(dir) = &bindir {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        find_program(&[name], package, bindir.as_deref())
    };
    Ok(PgBins {
        initdb: find("initdb", "postgresql")?,
        postgres: find("postgres", "postgresql")?,
        psql: find("psql", "postgresql-client")?,
        pg_isready: find("pg_isready", "postgresql-client")?,
    })
}

fn debian_pg_bindir() -> Option<PathBuf> {
    let entries = std::fs::read_dir(PG_VERSIONS_DIR).ok()?;
    let mut majors: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|major: &u32| {
            Path::new(PG_VERSIONS_DIR)
                .join(major.to_string())
                .join("bin/postgres")
                .is_file()
        })
        .collect();
    majors.sort_unstable();
    let major = if majors.contains(&PG_PREFERRED_MAJOR) {
        PG_PREFERRED_MAJOR
    } else {
        *majors.last()?
    };
    Some(
        Path::new(PG_VERSIONS_DIR)
            .join(major.to_string())
            .join("bin"),
    )
}

/// The MariaDB names first, then the MySQL-compatible aliases that older
/// packages ship.
pub(crate) fn mariadb_bins() -> Result<MariaDbBins, HarnessError> {
    Ok(MariaDbBins {
        install_db: find_program(
            &["mariadb-install-db", "mysql_install_db"],
            "mariadb-server",
            None,
        )?,
        server: find_program(&["mariadbd", "mysqld"], "mariadb-server", None)?,
        client: find_program(&["mariadb", "mysql"], "mariadb-client", None)?,
    })
}

fn find_program(
    names: &[&str],
    package: &'static str,
    also_searched: Option<&Path>,
) -> Result<PathBuf, HarnessError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    for name in names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let mut searched = String::new();
    if let Some(dir) = also_searched {
        searched.push_str(&format!("{}, ", dir.display()));
    }
    searched.push_str("PATH and sbin dirs");
    Err(HarnessError::MissingBinary {
        program: names.join(" / "),
        package,
        searched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_names_the_package() {
        let err = find_program(&["no-such-program-xyz"], "some-package", None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no-such-program-xyz"), "{text}");
        assert!(text.contains("`some-package`"), "{text}");
    }
}
