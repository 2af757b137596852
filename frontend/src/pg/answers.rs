//! How a statement's answers go back: the client-facing [`Forwarder`]
//! (one unit's events in the shape the client asked for), [`TagSum`]
//! (several units' CommandComplete tags as one). The order in which the
//! units of a write run is `core::units::batches`.

use futures::SinkExt;
use shardwire_backend::pg::QueryEvent;
use shardwire_protocol::pg::BackendMessage;

use super::execute::Shape;
use super::session::session_to_statement;
use crate::error::StatementError;

/// Sends a unit's answers to the client the way `shape` asks.
pub(super) struct Forwarder {
    shape: Shape,
    /// Whether the RowDescription (or NoData) went out.
    pub(super) described: bool,
    /// Rows and tag kept instead of sent: a write run whole for an
    /// Execute with a row limit (`portal_run`).
    pub(super) capture: Option<super::portal_run::Captured>,
}

impl Forwarder {
    pub(super) fn new(shape: Shape) -> Self {
        Forwarder {
            shape,
            described: false,
            capture: None,
        }
    }

    /// A Forwarder that keeps rows and the tag, up to `limit` bytes of rows.
    pub(super) fn capturing(shape: Shape, limit: usize) -> Self {
        Forwarder {
            capture: Some(super::portal_run::Captured::new(limit)),
            ..Forwarder::new(shape)
        }
    }

    pub(super) async fn event(
        &mut self,
        conn: &mut super::startup::ClientConn,
        event: QueryEvent,
    ) -> Result<(), StatementError> {
        let msg = match event {
            QueryEvent::RowDescription(rd) => {
                let first = !self.described;
                self.described = true;
                if self.shape == Shape::Silent || !first {
                    if self.shape == Shape::Simple {
                        // Simple query: one description per result set.
                        conn.feed(BackendMessage::RowDescription((*rd).clone()))
                            .await
                            .map_err(session_to_statement)?;
                    }
                    return Ok(());
                }
                BackendMessage::RowDescription((*rd).clone())
            }
            QueryEvent::Row(row) => match &mut self.capture {
                Some(c) => return c.push(row),
                None => BackendMessage::DataRow(row),
            },
            QueryEvent::CommandComplete(tag) => {
                self.no_rows(conn).await?;
                if let Some(c) = &mut self.capture {
                    c.complete(tag);
                    return Ok(());
                }
                if self.shape == Shape::Simple {
                    self.described = false;
                }
                BackendMessage::CommandComplete(tag)
            }
            QueryEvent::EmptyQuery => {
                self.no_rows(conn).await?;
                BackendMessage::EmptyQueryResponse
            }
            QueryEvent::Notice(n) => BackendMessage::NoticeResponse(n),
            // One unit's COPY TO STDOUT is the client's as it comes.
            QueryEvent::CopyOut(response) => BackendMessage::CopyOutResponse(response),
            QueryEvent::CopyData(data) => BackendMessage::CopyData(data),
            QueryEvent::CopyDone => BackendMessage::CopyDone,
        };
        conn.feed(msg).await.map_err(session_to_statement)
    }

    /// A Described statement that produced no rows still owes NoData.
    pub(super) async fn no_rows(
        &mut self,
        conn: &mut super::startup::ClientConn,
    ) -> Result<(), StatementError> {
        if self.shape == Shape::Described && !self.described {
            self.described = true;
            conn.feed(BackendMessage::NoData)
                .await
                .map_err(session_to_statement)?;
        }
        Ok(())
    }
}

/// Adds up the CommandComplete tags of the units of one statement.
#[derive(Debug, Default)]
pub(super) struct TagSum {
    verb: Option<String>,
    rows: u64,
    counted: bool,
}

impl TagSum {
    pub(super) fn add(&mut self, tag: &str) {
        let (verb, count) = match tag.rsplit_once(' ') {
            Some((verb, n)) => match n.parse::<u64>() {
                Ok(n) => (verb, Some(n)),
                Err(_) => (tag, None),
            },
            None => (tag, None),
        };
        if self.verb.is_none() {
            self.verb = Some(verb.to_owned());
        }
        if let Some(n) = count {
            self.rows += n;
            self.counted = true;
        }
    }

    pub(super) fn finish(self) -> String {
        let verb = self.verb.unwrap_or_default();
        if self.counted {
            format!("{verb} {}", self.rows)
        } else {
            verb
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_add_up_per_verb() {
        let mut t = TagSum::default();
        t.add("INSERT 0 2");
        t.add("INSERT 0 3");
        assert_eq!(t.finish(), "INSERT 0 5");
        let mut t = TagSum::default();
        t.add("CREATE TABLE");
        t.add("CREATE TABLE");
        assert_eq!(t.finish(), "CREATE TABLE");
        let mut t = TagSum::default();
        t.add("UPDATE 1");
        t.add("UPDATE 0");
        assert_eq!(t.finish(), "UPDATE 1");
    }
}
