//! Iteration: the shards' rows one shard after another, for statements
//! without ORDER BY, where any order is a correct order.

use futures::stream::{self, StreamExt};

use super::RowStream;

pub(crate) fn concat(shards: Vec<RowStream>) -> RowStream {
    Box::pin(stream::iter(shards).flatten())
}
