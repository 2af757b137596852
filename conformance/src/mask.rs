//! The masking rules: every answer field that legitimately differs between
//! two runs of the same session is blanked here, and only here, before
//! answers are compared. Each rule says why. What is masked still shows in
//! reports; only equality ignores it.
//!
//! What is never compared at all, because replay logs in anew: the login
//! (server greeting, server version string, connection id, auth plugin
//! data, salts and nonces, BackendKeyData with the backend pid and secret
//! key, the ParameterStatus burst before the first ReadyForQuery).

use crate::answer::{Answer, Column};

/// One masking rule, as documented and listed by `RULES`.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub reason: &'static str,
}

/// Every rule applied by [`mask_all`], for reports and docs.
pub const RULES: &[Rule] = &[
    Rule {
        name: "error-and-notice-text",
        reason: "only the SQLSTATE / errno and severity are the answer; message text names \
                 server internals (OIDs, positions, versions) and is localised",
    },
    Rule {
        name: "server-identity-parameters",
        reason: "ParameterStatus server_version, session_authorization and is_superuser \
                 describe the server build and the replaying user, not the statement",
    },
    Rule {
        name: "backend-pid",
        reason: "NotificationResponse carries the sending backend's pid, new per run",
    },
    Rule {
        name: "statement-id",
        reason: "COM_STMT_PREPARE_OK ids are a per-connection server counter; replay remaps them",
    },
    Rule {
        name: "mysql-status-hints",
        reason: "only SERVER_STATUS_IN_TRANS, AUTOCOMMIT and MORE_RESULTS_EXISTS are answers; \
                 the other flags are optimizer and cursor hints that vary by server",
    },
    Rule {
        name: "server-generated-values",
        reason: "columns named after functions that read the clock, the session or a random \
                 source (now(), current_timestamp, pg_backend_pid(), connection_id(), \
                 version(), uuid(), random()) differ on every run",
    },
    Rule {
        name: "generated-keys (declared)",
        reason: "MySQL last insert id depends on the auto-increment state of the server; \
                 masked only when the capture declares it, since it is an answer otherwise",
    },
];

/// MySQL status bits that are part of the answer.
const MYSQL_STATUS_KEPT: u16 = 0x0001 | 0x0002 | 0x0008;

const VOLATILE_PARAMETERS: &[&str] = &["server_version", "session_authorization", "is_superuser"];

const VOLATILE_COLUMNS: &[&str] = &[
    "now",
    "current_timestamp",
    "current_time",
    "current_date",
    "localtimestamp",
    "localtime",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "sysdate",
    "utc_timestamp",
    "unix_timestamp",
    "curtime",
    "curdate",
    "pg_backend_pid",
    "pg_postmaster_start_time",
    "connection_id",
    "inet_client_port",
    "version",
    "@@version",
    "uuid",
    "gen_random_uuid",
    "random",
    "rand",
    "txid_current",
    "pg_current_xact_id",
];

/// What a capture declares may differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaskOptions {
    /// Mask MySQL last insert ids.
    pub generated_keys: bool,
}

fn volatile_column(c: &Column) -> bool {
    let name = c.name.trim().to_ascii_lowercase();
    let bare = name.strip_suffix("()").unwrap_or(&name);
    VOLATILE_COLUMNS.contains(&bare)
}

/// The comparable form of each answer.
pub fn mask_all(answers: &[Answer], opts: MaskOptions) -> Vec<Answer> {
    let mut volatile: Vec<bool> = Vec::new();
    answers
        .iter()
        .map(|a| {
            let mut a = a.clone();
            match &mut a {
                Answer::Columns { columns } => {
                    volatile = columns.iter().map(volatile_column).collect();
                }
                Answer::Row { values } => {
                    for (v, masked) in values.iter_mut().zip(&volatile) {
                        if *masked && v.is_some() {
                            *v = Some("<server-generated>".into());
                        }
                    }
                }
                Answer::Error { message, .. } | Answer::Notice { message, .. } => message.clear(),
                Answer::ParameterStatus { name, value }
                    if VOLATILE_PARAMETERS.contains(&name.as_str()) =>
                {
                    value.clear()
                }
                Answer::Notification { pid, .. } => *pid = 0,
                Answer::PrepareOk { statement_id, .. } => *statement_id = 0,
                Answer::Ok {
                    status,
                    last_insert_id,
                    ..
                } => {
                    *status &= MYSQL_STATUS_KEPT;
                    if opts.generated_keys {
                        *last_insert_id = 0;
                    }
                }
                Answer::End { status, .. } => *status &= MYSQL_STATUS_KEPT,
                _ => {}
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_volatile_cells_but_not_others() {
        let answers = vec![
            Answer::Columns {
                columns: vec![
                    Column {
                        name: "now()".into(),
                        ty: "mysql:12".into(),
                    },
                    Column {
                        name: "id".into(),
                        ty: "mysql:3".into(),
                    },
                ],
            },
            Answer::Row {
                values: vec![Some("2026-12-07 16:00:00".into()), Some("7".into())],
            },
        ];
        let masked = mask_all(&answers, MaskOptions::default());
        assert_eq!(
            masked[1],
            Answer::Row {
                values: vec![Some("<server-generated>".into()), Some("7".into())]
            }
        );
    }

    #[test]
    fn last_insert_id_is_masked_only_when_declared() {
        let ok = Answer::Ok {
            affected_rows: 1,
            last_insert_id: 42,
            status: 0x0002 | 0x0020,
            warnings: 0,
        };
        let kept = mask_all(std::slice::from_ref(&ok), MaskOptions::default());
        assert_eq!(
            kept[0],
            Answer::Ok {
                affected_rows: 1,
                last_insert_id: 42,
                status: 0x0002,
                warnings: 0
            }
        );
        let masked = mask_all(
            &[ok],
            MaskOptions {
                generated_keys: true,
            },
        );
        assert!(matches!(
            masked[0],
            Answer::Ok {
                last_insert_id: 0,
                ..
            }
        ));
    }
}
