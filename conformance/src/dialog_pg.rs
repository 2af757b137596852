//! Cutting a PostgreSQL connection into login and exchanges.

use std::collections::HashMap;

use shardwire_protocol::pg::{FrontendMessage, PasswordKind};

use crate::answer::pg_answer;
use crate::detect::Protocol;
use crate::dialog::{
    capture_index, group_writes, sql_orders_rows, Dialog, Exchange, Login, NoDialog, Timeline, Wait,
};
use crate::frame::Frame;
use crate::pg_split::{split_client, split_server};
use crate::reassembly::TcpConnection;

const AUTH_OK_BODY: [u8; 4] = [0, 0, 0, 0];

pub(crate) fn build(conn: &TcpConnection) -> Result<Dialog, NoDialog> {
    let unusable = |e: crate::error::ConformanceError| NoDialog::Unusable(e.to_string());
    let (cframes, opening, _) = split_client(&conn.client_bytes).map_err(unusable)?;
    if opening.cancel {
        return Err(NoDialog::NoLogin("a CancelRequest connection".into()));
    }
    let Some(si) = opening.startup else {
        return Err(NoDialog::NoLogin("no startup packet".into()));
    };
    let params = match cframes
        .get(si)
        .map(|f| FrontendMessage::decode_startup(f.payload.clone()))
    {
        Some(Ok(FrontendMessage::Startup { params, .. })) => params,
        _ => return Err(NoDialog::Unusable("a malformed startup packet".into())),
    };
    let (sframes, _) =
        split_server(&conn.server_bytes, opening.encryption_requests).map_err(unusable)?;
    let tl = Timeline::new(conn, &cframes, &sframes);

    let mut auth_ok = false;
    let mut login_end = None;
    for (i, f) in sframes.iter().enumerate() {
        match f.tag {
            Some(b'R') if f.payload.get(..4) == Some(&AUTH_OK_BODY[..]) => auth_ok = true,
            Some(b'E') if !auth_ok => {
                let why = pg_answer(b'E', f.payload.clone())
                    .ok()
                    .flatten()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                return Err(NoDialog::NoLogin(format!(
                    "the captured server refused the login: {why}"
                )));
            }
            Some(b'Z') if auth_ok => {
                login_end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(login_end) = login_end else {
        return Err(NoDialog::NoLogin(
            "the login does not finish in the capture (no ReadyForQuery after AuthenticationOk)"
                .into(),
        ));
    };
    let login_pos = tl.server_at[login_end];

    let post_login = cframes
        .iter()
        .zip(&tl.client_at)
        .skip(si + 1)
        .filter(|(_, &(pos, _))| pos > login_pos && pos != usize::MAX)
        .map(|(f, &(_, group))| (f, group));
    let writes = group_writes(post_login);
    // Where each write starts and ends on the delivery list.
    let pos_of = |f: &Frame| {
        cframes
            .iter()
            .position(|c| c.start == f.start)
            .and_then(|i| tl.client_at.get(i))
            .map_or(usize::MAX, |&(p, _)| p)
    };
    let starts: Vec<usize> = writes
        .iter()
        .map(|w| w.iter().map(pos_of).min().unwrap_or(usize::MAX))
        .collect();

    let mut expected: Vec<Vec<&Frame>> = vec![Vec::new(); writes.len()];
    // Per write: delivery position of its last answer.
    let mut last_answer: Vec<Option<usize>> = vec![None; writes.len()];
    let mut notes = Vec::new();
    let mut early = 0usize;
    for (f, &p) in sframes.iter().zip(&tl.server_at).skip(login_end + 1) {
        match starts.iter().rposition(|&s| s < p) {
            Some(k) => {
                expected[k].push(f);
                last_answer[k] = Some(p);
            }
            None => early += 1,
        }
    }
    if early > 0 {
        notes.push(format!(
            "{early} server message(s) after login came before any request; not compared"
        ));
    }

    let mut statements: HashMap<String, String> = HashMap::new();
    let mut exchanges = Vec::with_capacity(writes.len());
    for (((frames, answers), start), answered) in writes
        .into_iter()
        .zip(expected)
        .zip(starts)
        .zip(last_answer)
    {
        let request = summarize(&frames, &mut statements);
        let ready = answers.iter().filter(|f| f.tag == Some(b'Z')).count();
        let tail = answers
            .iter()
            .rev()
            .take_while(|f| f.tag != Some(b'Z'))
            .count();
        let mut expected = Vec::with_capacity(answers.len());
        for f in &answers {
            let Some(tag) = f.tag else { continue };
            match pg_answer(tag, f.payload.clone()) {
                Ok(Some(a)) => expected.push(a),
                Ok(None) => {}
                Err(e) => {
                    return Err(NoDialog::Unusable(format!(
                        "an undecodable server message: {e}"
                    )))
                }
            }
        }
        exchanges.push(Exchange {
            ordered: sql_orders_rows(&request),
            request,
            frames,
            expected,
            wait: Wait::Pg { ready, tail },
            sent_at: capture_index(conn, start),
            answered_at: answered.map_or(u64::MAX, |p| capture_index(conn, p)),
        });
    }
    Ok(Dialog {
        id: 0,
        client: conn.client,
        server: conn.server,
        protocol: Protocol::Postgres,
        first_ts: conn.first_ts,
        last_ts: conn.last_ts,
        login: Login::Pg { params },
        exchanges,
        notes,
    })
}

/// The SQL of a write, for the report: Query texts, Parse texts, and the
/// text of named statements that are only bound and executed.
fn summarize(frames: &[Frame], statements: &mut HashMap<String, String>) -> String {
    let mut pieces: Vec<String> = Vec::new();
    let mut parsed_here = false;
    for f in frames {
        let Some(tag) = f.tag else { continue };
        match FrontendMessage::decode(tag, f.payload.clone(), PasswordKind::Password) {
            Ok(FrontendMessage::Query(q)) => pieces.push(q),
            Ok(FrontendMessage::Parse(p)) => {
                parsed_here = true;
                statements.insert(p.name.clone(), p.query.clone());
                pieces.push(p.query);
            }
            Ok(FrontendMessage::Bind(b)) if !parsed_here => {
                if let Some(q) = statements.get(&b.statement) {
                    pieces.push(q.clone());
                }
            }
            Ok(FrontendMessage::CopyData(_)) if !pieces.iter().any(|p| p == "COPY data") => {
                pieces.push("COPY data".into())
            }
            Ok(FrontendMessage::CopyDone) => pieces.push("COPY done".into()),
            Ok(FrontendMessage::Terminate) => pieces.push("Terminate".into()),
            _ => {}
        }
    }
    if pieces.is_empty() {
        let tags: String = frames
            .iter()
            .filter_map(|f| f.tag.map(char::from))
            .collect();
        format!("messages {tags}")
    } else {
        pieces.join(" ; ")
    }
}
