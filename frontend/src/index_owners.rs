//! Which sharding table owns a PostgreSQL index name, read from the
//! shards' catalogs when the kernel asks ([`KernelError::IndexOwnersNeeded`]):
//! DROP INDEX and ALTER INDEX name no table, and the proxy named each
//! actual table's index `<index>_<actual table>` when it created it. Asked
//! anew each time (those statements are rare), so it stays true after a
//! restart and for indexes made by another proxy.

use std::collections::HashMap;

use futures::future::join_all;
use shardwire_backend::metadata::existing_pg_indexes;
use shardwire_kernel::index_names::IndexLookup;
use shardwire_kernel::KernelError;

use crate::error::StatementError;
use crate::server::Database;

/// Logical index key -> its owning sharding table (`None`: no sharding
/// table's), as the kernel's [`shardwire_kernel::index_names::IndexOwners`].
pub(crate) type Owners = HashMap<String, Option<String>>;

/// Adds the owners of `lookups` to `owners`. An index found on any data
/// source decides; when none has it and some data source could not be
/// asked, the statement fails rather than going where a name of no
/// sharding table goes.
pub(crate) async fn look_up(
    db: &Database,
    lookups: &[IndexLookup],
    owners: &mut Owners,
) -> Result<(), StatementError> {
    let Some(cluster) = &db.pg else {
        return Err(StatementError::Kernel(KernelError::Internal(
            "index owners asked for outside PostgreSQL".into(),
        )));
    };
    for lookup in lookups {
        // Data source -> the candidate names it would hold.
        let mut by_source: Vec<(&str, Vec<String>)> = Vec::new();
        for c in &lookup.candidates {
            match by_source.iter_mut().find(|(ds, _)| *ds == c.data_source) {
                Some((_, names)) => names.push(c.actual_index.clone()),
                None => by_source.push((c.data_source.as_str(), vec![c.actual_index.clone()])),
            }
        }
        let answers = join_all(by_source.iter().map(|(ds, names)| async move {
            let mut conn = cluster.pool(ds)?.get().await?;
            // A pooled connection may carry another session's search_path.
            conn.replay_settings(&[], None).await?;
            existing_pg_indexes(&mut conn, names, lookup.schema.as_deref()).await
        }))
        .await;
        let mut unreachable = None;
        let mut owner = None;
        for ((ds, _), answer) in by_source.iter().zip(answers) {
            match answer {
                Ok(found) => {
                    owner = owner.or_else(|| {
                        lookup
                            .candidates
                            .iter()
                            .find(|c| {
                                c.data_source == *ds
                                    && found.contains(&(c.actual_index.clone(), c.on_table.clone()))
                            })
                            .map(|c| c.table.clone())
                    });
                }
                Err(e) => unreachable = unreachable.or(Some(format!("{ds}: {e}"))),
            }
        }
        if let (None, Some(why)) = (&owner, unreachable) {
            return Err(StatementError::refused(
                "58000",
                format!(
                    "cannot tell which table index {} belongs to: {why}",
                    lookup.index
                ),
            ));
        }
        owners.insert(lookup.index.clone(), owner);
    }
    Ok(())
}
