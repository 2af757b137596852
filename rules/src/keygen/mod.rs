//! Key generators for columns the client leaves out of an INSERT:
//! SNOWFLAKE (time-ordered 64-bit ids) and UUID.
//!
//! # Layout
//! - `snowflake`: SNOWFLAKE, lock-free, safe when the clock moves backwards.
//! - `uuid`: UUID (random, version 4).

mod snowflake;
mod uuid;

pub use snowflake::{decompose as decompose_snowflake, Clock, Snowflake, EPOCH_MS};
pub use uuid::UuidGenerator;

use std::fmt;
use std::sync::Arc;

use crate::error::AlgorithmError;
use crate::props::Props;

/// A generated key, as the rewrite will add it to an INSERT.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GeneratedKey {
    Int(i64),
    Text(String),
}

/// A key generator; shared between sessions, so `Send + Sync`.
pub trait KeyGenerator: Send + Sync + fmt::Debug {
    fn type_name(&self) -> &'static str;
    fn next_key(&self) -> Result<GeneratedKey, AlgorithmError>;
}

/// The key generator types `create` knows.
pub const KEY_GENERATOR_TYPES: &[&str] = &["SNOWFLAKE", "UUID"];

/// Builds a key generator from its `type:` and `props:`.
/// Types are matched case-insensitively, as ShardingSphere does.
pub fn create(type_name: &str, props: &Props) -> Result<Arc<dyn KeyGenerator>, AlgorithmError> {
    match type_name.trim().to_ascii_uppercase().as_str() {
        "SNOWFLAKE" => Ok(Arc::new(Snowflake::from_props(props)?)),
        // ShardingSphere's UUID generator has no props; unknown ones are
        // ignored there and here.
        "UUID" => Ok(Arc::new(UuidGenerator)),
        _ => Err(AlgorithmError::UnknownType(type_name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_knows_every_listed_type() {
        for t in KEY_GENERATOR_TYPES {
            let generator = create(t, &Props::new(*t)).expect(t);
            assert_eq!(generator.type_name(), *t);
        }
        let lower = create("snowflake", &Props::new("SNOWFLAKE")).expect("lower case");
        assert!(matches!(lower.next_key(), Ok(GeneratedKey::Int(id)) if id > 0));
        let uuid = create("uuid", &Props::new("UUID")).expect("lower case");
        assert!(matches!(uuid.next_key(), Ok(GeneratedKey::Text(s)) if s.len() == 32));
    }

    #[test]
    fn create_checks_props_and_types() {
        assert_eq!(
            create("LEAF", &Props::new("LEAF")).unwrap_err(),
            AlgorithmError::UnknownType("LEAF".into())
        );
        assert_eq!(
            create(
                "SNOWFLAKE",
                &Props::new("SNOWFLAKE").with("worker-id", 5000)
            )
            .unwrap_err(),
            AlgorithmError::BadProp {
                algorithm: "SNOWFLAKE".into(),
                prop: "worker-id".into(),
                value: "5000".into(),
                reason: "must be in 0..=1023".into(),
            }
        );
    }

    #[test]
    fn created_snowflake_uses_the_worker_id() {
        let generator =
            create("SNOWFLAKE", &Props::new("SNOWFLAKE").with("worker-id", 77)).expect("valid");
        let Ok(GeneratedKey::Int(id)) = generator.next_key() else {
            panic!("expected an integer key");
        };
        assert_eq!(decompose_snowflake(id).1, 77);
    }
}
