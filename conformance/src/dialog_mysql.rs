//! Cutting a MySQL connection into login and exchanges. Server packets are
//! assigned to commands by reading each command's response in turn
//! ([`crate::mysql_response`]), which is exact where timing is not.

use std::collections::HashMap;

use shardwire_protocol::mysql::constants::capability::{CLIENT_COMPRESS, CLIENT_SSL};
use shardwire_protocol::mysql::constants::command as cmd;
use shardwire_protocol::mysql::{AuthPacket, ClientHandshake, ErrPacket, HandshakeV10, ERR_HEADER};

use crate::detect::Protocol;
use crate::dialog::{
    capture_index, group_writes, sql_orders_rows, Dialog, Exchange, Login, MyCommand, NoDialog,
    Timeline, Wait,
};
use crate::mysql_response::{expect_for, ResponseReader};
use crate::mysql_split::split;
use crate::reassembly::TcpConnection;

/// Auth rounds after the handshake response that are followed in a
/// capture; real plugins need at most three.
const MAX_AUTH_ROUNDS: usize = 8;

pub(crate) fn build(conn: &TcpConnection) -> Result<Dialog, NoDialog> {
    let unusable = |e: crate::error::ConformanceError| NoDialog::Unusable(e.to_string());
    let (cframes, _) = split(&conn.client_bytes).map_err(unusable)?;
    let (sframes, _) = split(&conn.server_bytes).map_err(unusable)?;
    let Some(greeting) = sframes.first() else {
        return Err(NoDialog::NoLogin("no server greeting".into()));
    };
    if greeting.payload.first() == Some(&ERR_HEADER) {
        let e = ErrPacket::decode(greeting.payload.clone()).map(|e| e.message);
        return Err(NoDialog::NoLogin(format!(
            "the server refused the connection: {}",
            e.unwrap_or_default()
        )));
    }
    let hs = HandshakeV10::decode(greeting.payload.clone())
        .map_err(|e| NoDialog::Unusable(format!("a malformed server greeting: {e}")))?;
    let Some(first) = cframes.first() else {
        return Err(NoDialog::NoLogin(
            "the client never answered the greeting".into(),
        ));
    };
    let response = match ClientHandshake::decode(first.payload.clone()) {
        Ok(ClientHandshake::Response(r)) => r,
        Ok(ClientHandshake::SslRequest(_)) => {
            return Err(NoDialog::Unusable(
                "the MySQL session is encrypted (TLS); record it with --skip-ssl or \
                 through `shardctl record`"
                    .into(),
            ))
        }
        Err(e) => {
            return Err(NoDialog::Unusable(format!(
                "a malformed handshake response: {e}"
            )))
        }
    };
    let negotiated = response.capabilities & hs.capabilities;
    if negotiated & CLIENT_COMPRESS != 0 {
        return Err(NoDialog::Unusable("the MySQL session is compressed".into()));
    }
    if negotiated & CLIENT_SSL != 0 {
        return Err(NoDialog::Unusable(
            "the MySQL session is encrypted (TLS)".into(),
        ));
    }
    let mut login_end = None;
    for (i, f) in sframes.iter().enumerate().skip(1).take(MAX_AUTH_ROUNDS) {
        match AuthPacket::decode(f.payload.clone(), negotiated) {
            Ok(AuthPacket::Ok(_)) => {
                login_end = Some(i);
                break;
            }
            Ok(AuthPacket::Err(e)) => {
                return Err(NoDialog::NoLogin(format!(
                    "the captured server refused the login: {} {}",
                    e.code, e.message
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(NoDialog::Unusable(format!("a malformed auth packet: {e}"))),
        }
    }
    let Some(login_end) = login_end else {
        return Err(NoDialog::NoLogin(
            "the login does not finish in the capture (no OK after the handshake)".into(),
        ));
    };

    let tl = Timeline::new(conn, &cframes, &sframes);
    let first_command = cframes
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, f)| f.seq == 0)
        .map_or(cframes.len(), |(i, _)| i);
    let mut notes = Vec::new();
    // (command, write group, answers, capture index of the command, of its
    // last answer).
    type Command = (MyCommand, usize, Vec<crate::answer::Answer>, u64, u64);
    let mut commands: Vec<Command> = Vec::new();
    let mut si = login_end + 1;
    for (f, &(pos, group)) in cframes.iter().zip(&tl.client_at).skip(first_command) {
        if f.seq != 0 {
            notes.push(format!(
                "a client packet with sequence id {} outside a command; not replayed",
                f.seq
            ));
            continue;
        }
        let Some(&code) = f.payload.first() else {
            continue;
        };
        let mut reader = ResponseReader::new(negotiated, expect_for(code));
        let first_answer = si;
        while !reader.is_done() {
            let Some(s) = sframes.get(si) else { break };
            reader
                .feed(s.payload.clone())
                .map_err(|e| NoDialog::Unusable(format!("an undecodable answer: {e}")))?;
            si += 1;
        }
        if reader.answers.iter().any(
            |a| matches!(a, crate::answer::Answer::Signal { name } if name == "LocalInfileRequest"),
        ) {
            notes.push("LOAD DATA LOCAL INFILE is not replayed past its request".into());
        }
        commands.push((
            MyCommand {
                frame: f.clone(),
                answered: reader.is_done(),
                captured_statement_id: reader.prepared.as_ref().map(|p| p.statement_id),
            },
            group,
            reader.answers,
            capture_index(conn, pos),
            if si > first_answer {
                tl.server_at
                    .get(si - 1)
                    .map_or(u64::MAX, |&p| capture_index(conn, p))
            } else {
                u64::MAX
            },
        ));
    }
    if si < sframes.len() {
        notes.push(format!(
            "{} server packet(s) answer no command; not compared",
            sframes.len() - si
        ));
    }

    let writes = group_writes(commands.iter().map(|(c, g, ..)| (&c.frame, *g)));
    let mut statements: HashMap<u32, String> = HashMap::new();
    let mut exchanges = Vec::with_capacity(writes.len());
    let mut next = commands.into_iter();
    for frames in writes {
        let mut cmds = Vec::with_capacity(frames.len());
        let mut expected = Vec::new();
        let mut pieces = Vec::new();
        let (mut sent_at, mut answered_at) = (u64::MAX, u64::MAX);
        for _ in &frames {
            let Some((c, _, answers, sent, answered)) = next.next() else {
                break;
            };
            sent_at = sent_at.min(sent);
            if answered != u64::MAX {
                answered_at = answered;
            }
            pieces.push(describe(&c, &mut statements));
            expected.extend(answers);
            cmds.push(c);
        }
        let request = pieces.join(" ; ");
        exchanges.push(Exchange {
            ordered: sql_orders_rows(&request),
            request,
            frames,
            expected,
            wait: Wait::MySql { commands: cmds },
            sent_at,
            answered_at,
        });
    }
    Ok(Dialog {
        id: 0,
        client: conn.client,
        server: conn.server,
        protocol: Protocol::MySql,
        first_ts: conn.first_ts,
        last_ts: conn.last_ts,
        login: Login::MySql {
            client_caps: response.capabilities,
            negotiated_caps: negotiated,
            charset: response.charset,
            database: response.database,
            attributes: response.attributes,
        },
        exchanges,
        notes,
    })
}

fn stmt_id(payload: &[u8]) -> Option<u32> {
    let b = payload.get(1..5)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The command as the report names it.
fn describe(c: &MyCommand, statements: &mut HashMap<u32, String>) -> String {
    let p = &c.frame.payload;
    let text = || String::from_utf8_lossy(p.get(1..).unwrap_or_default()).into_owned();
    let known = |statements: &HashMap<u32, String>| {
        stmt_id(p)
            .and_then(|id| statements.get(&id).cloned())
            .unwrap_or_else(|| "an unknown statement".into())
    };
    match p.first().copied().unwrap_or_default() {
        cmd::COM_QUERY => text(),
        cmd::COM_STMT_PREPARE => {
            let sql = text();
            if let Some(id) = c.captured_statement_id {
                statements.insert(id, sql.clone());
            }
            format!("PREPARE {sql}")
        }
        cmd::COM_STMT_EXECUTE => format!("EXECUTE {}", known(statements)),
        cmd::COM_STMT_CLOSE => format!("CLOSE {}", known(statements)),
        cmd::COM_STMT_RESET => format!("RESET {}", known(statements)),
        cmd::COM_STMT_FETCH => format!("FETCH {}", known(statements)),
        cmd::COM_STMT_SEND_LONG_DATA => format!("SEND LONG DATA {}", known(statements)),
        cmd::COM_INIT_DB => format!("USE {}", text()),
        cmd::COM_PING => "PING".into(),
        cmd::COM_QUIT => "QUIT".into(),
        cmd::COM_STATISTICS => "STATISTICS".into(),
        cmd::COM_RESET_CONNECTION => "RESET CONNECTION".into(),
        cmd::COM_FIELD_LIST => format!("FIELD LIST {}", text()),
        other => format!("command 0x{other:02x}"),
    }
}
